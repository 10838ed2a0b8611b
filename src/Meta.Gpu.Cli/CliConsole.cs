namespace Meta.Gpu.Cli;

/// <summary>The streams a command reads and writes; tests pass their own to run commands in process.</summary>
public sealed record CliConsole(TextReader In, TextWriter Out, TextWriter Error)
{
    public static CliConsole System { get; } = new(Console.In, Console.Out, Console.Error);

    /// <summary>True when <see cref="Out"/> is the terminal (progress bars and colours only then).</summary>
    public bool IsInteractive => ReferenceEquals(Out, Console.Out) && !Console.IsOutputRedirected;
}
