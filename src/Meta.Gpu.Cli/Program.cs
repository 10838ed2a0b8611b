namespace Meta.Gpu.Cli;

internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
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
