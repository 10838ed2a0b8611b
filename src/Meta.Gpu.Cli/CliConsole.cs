namespace Meta.Gpu.Cli;

/// <summary>The streams a command reads and writes; tests pass their own to run commands in process.</summary>
public sealed record CliConsole(TextReader In, TextWriter Out, TextWriter Error)
{
    /// <summary>The process's streams. Standard input drops a UTF-8 byte order mark as a file read does (Console.In
    /// passed it on, and the first line's JSON failed at column 1); standard input that cannot be read and standard
    /// output that cannot be written are a one-line error (<see cref="StandardInput"/>, <see cref="StandardOutput"/>).</summary>
    public static CliConsole System { get; } = new(
        new StandardInput(new StreamReader(Console.OpenStandardInput(), new global::System.Text.UTF8Encoding(false), detectEncodingFromByteOrderMarks: true)),
        new StandardOutput(Console.Out), Console.Error);

    /// <summary>True when <see cref="In"/> is the process's standard input (whose file the system can name), not a
    /// reader a caller passed.</summary>
    public bool ReadsStandardInput => ReferenceEquals(In, System.In);

    /// <summary>True when <see cref="Out"/> is the terminal (progress bars and colours only then).</summary>
    public bool IsInteractive => Out is StandardOutput && !Console.IsOutputRedirected;
}
