namespace Meta.Gpu.Cli;

internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        // Standard output and error in UTF-8, as standard input and every file are read and written, whatever charset
        // the locale names: under LANG=...US-ASCII (or ISO-8859-1) the JSON's non-ASCII keys and domain ids came out as
        // "?" (or Latin-1 bytes). Set before CliConsole.System takes Console.Out.
        Console.OutputEncoding = new System.Text.UTF8Encoding(false);
        using var signals = new TerminationSignals();
        try
        {
            return await MetaGpuApp.RunAsync(args, CliConsole.System, signals.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (signals.Token.IsCancellationRequested)
        {
            // A command with nothing to drain stops where it was; one that drains (serve, domain) returns 0 itself.
            await Console.Error.WriteLineAsync($"meta-gpu: stopped by {signals.Received}").ConfigureAwait(false);
            return signals.ExitCode;
        }
    }
}
