using Meta.Gpu.Cli;

namespace Meta.Gpu.Tests.Support;

/// <summary>Runs `meta-gpu` in process, as a user's shell would, capturing its exit code, output and errors.</summary>
internal static class CliRun
{
    public static async Task<(int Code, string Out, string Error)> RunAsync(string stdin, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await MetaGpuApp.RunAsync(args, new CliConsole(new StringReader(stdin), output, error));
        return (code, output.ToString(), error.ToString());
    }
}
