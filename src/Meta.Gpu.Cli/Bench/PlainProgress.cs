using System.Globalization;

namespace Meta.Gpu.Cli.Bench;

/// <summary>One line per finished row, for logs and redirected output.</summary>
public sealed class PlainProgress(TextWriter output, int total) : IBenchProgress
{
    private int _done;

    public void Starting(string label)
    {
    }

    public void Completed(BenchResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        _done++;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bench [{_done}/{total}] {BenchText.Describe(result)}"));
    }

    public void Note(string line) => output.WriteLine($"bench: {line}");
}
