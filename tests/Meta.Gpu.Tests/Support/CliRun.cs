using System.Diagnostics;
using System.Runtime.InteropServices;
using Meta.Gpu.Cli;

namespace Meta.Gpu.Tests.Support;

/// <summary>Runs `meta-gpu` in process, as a user's shell would, capturing its exit code, output and errors; or as a
/// process of its own, for a command that must not touch this process's state or may not end.</summary>
internal static class CliRun
{
    public static async Task<(int Code, string Out, string Error)> RunAsync(string stdin, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await MetaGpuApp.RunAsync(args, new CliConsole(new StringReader(stdin), output, error));
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>The built CLI (the test project references Meta.Gpu.Cli).</summary>
    public static string Assembly => Path.Combine(AppContext.BaseDirectory, "meta-gpu.dll");

    /// <summary>The `dotnet` host running these tests (or, when they run from an apphost, the one beside the
    /// runtime; else the one on PATH).</summary>
    public static string DotnetHost()
    {
        var executable = RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? "dotnet.exe" : "dotnet";
        if (Environment.ProcessPath is { } self && Path.GetFileName(self) == executable) return self;
        // <root>/shared/Microsoft.NETCore.App/<version>/ -> <root>/dotnet
        var runtime = RuntimeEnvironment.GetRuntimeDirectory().TrimEnd(Path.DirectorySeparatorChar);
        var candidate = Path.Combine(Path.GetFullPath(Path.Combine(runtime, "..", "..", "..")), executable);
        return File.Exists(candidate) ? candidate : executable;
    }

    /// <summary>Runs the CLI as a child process in <paramref name="workingDirectory"/> (default: this one's); one
    /// that has not exited within <paramref name="limit"/> is killed and reported as not finished.</summary>
    public static Task<(bool Finished, int Code, string Out, string Error)> ProcessAsync(TimeSpan limit, string? workingDirectory, params string[] args) =>
        ProcessAsync(limit, workingDirectory, null, args);

    /// <summary>As above, with <paramref name="stdin"/> (when given) written to the child's standard input, which is
    /// then closed.</summary>
    public static async Task<(bool Finished, int Code, string Out, string Error)> ProcessAsync(TimeSpan limit, string? workingDirectory, byte[]? stdin, params string[] args)
    {
        var start = new ProcessStartInfo(DotnetHost()) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin is not null, UseShellExecute = false };
        if (workingDirectory is not null) start.WorkingDirectory = workingDirectory;
        start.ArgumentList.Add(Assembly);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        if (stdin is not null)
        {
            await process.StandardInput.BaseStream.WriteAsync(stdin);
            process.StandardInput.Close();
        }
        return await FinishAsync(process, limit);
    }

    /// <summary>Reads a started <paramref name="process"/>'s output and errors to its exit; one still running after
    /// <paramref name="limit"/> is killed with its children and reported as not finished.</summary>
    public static async Task<(bool Finished, int Code, string Out, string Error)> FinishAsync(Process process, TimeSpan limit)
    {
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            return (false, process.ExitCode, await output, await error);
        }
        return (true, process.ExitCode, await output, await error);
    }
}
