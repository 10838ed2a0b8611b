using System.Diagnostics;
using Meta.Gpu.Cli;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Cli;

/// <summary>Standard input that cannot be read (`&lt; folder`) is a one-line error naming it, exit 2, as a folder given
/// by path is ("is a folder, expected a file"); the runtime's IOException ("Is a directory") escaped `aggregate` and
/// `govern` as an unhandled exception (exit 134 and a stack trace).</summary>
public sealed class UnreadableStandardInputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cli-stdin-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("aggregate", "")]
    [InlineData("aggregate", "-")]
    [InlineData("govern", "")]
    [InlineData("govern", "-")]
    public async Task Standard_input_redirected_from_a_folder_is_exit_2_on_one_line_naming_it(string command, string input)
    {
        if (!OperatingSystem.IsLinux()) Assert.Skip("a folder as standard input is a POSIX shell's redirection");

        var (finished, code, _, error) = await Shell(TimeSpan.FromSeconds(60),
            $"exec \"{CliRun.DotnetHost()}\" \"{CliRun.Assembly}\" {command} {input} < \"{_dir}\"");

        Assert.True(finished);
        Assert.True(code == MetaGpuApp.ExitUserError, $"exit {code}: {error}");
        Assert.Equal("meta-gpu: standard input: cannot read (Is a directory)", error.Trim());
    }

    private static async Task<(bool Finished, int Code, string Out, string Error)> Shell(TimeSpan limit, string script)
    {
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        using var process = Process.Start(start)!;
        return await CliRun.FinishAsync(process, limit);
    }
}
