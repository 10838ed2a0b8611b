namespace Meta.Gpu.Cli;

internal static class Program
{
    public static Task<int> Main(string[] args) => MetaGpuApp.RunAsync(args, CliConsole.System);
}
