using Spectre.Console;

namespace Meta.Gpu.Cli.Bench;

/// <summary>The progress bar of an interactive terminal (Spectre.Console): one bar over every row of the run.</summary>
public sealed class SpectreProgress(ProgressTask task) : IBenchProgress
{
    public void Starting(string label) => task.Description = Markup.Escape(label);

    public void Completed(BenchResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        task.Increment(1);
    }

    public void Note(string line) => task.Description = Markup.Escape(line);
}
