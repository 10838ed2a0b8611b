using System.Diagnostics;
using Meta.Gpu.Cli;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Cli;

/// <summary>A refused number is shown in the error as it is written, with a decimal point, in every culture: as the
/// governance configuration's errors show it (<c>ConfigCheck.Show</c>), and as the options and the JSON are read
/// ("0,7" is refused as input).</summary>
public sealed class CultureErrorNumberTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cli-culture-errors-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("aggregate", "config.trim_alpha: must be in [0, 0.5), got 0.7")]
    [InlineData("demo", "--beta: must be in (0, 1], got 1.5")]
    public async Task An_out_of_range_decimal_is_named_with_a_point_under_a_german_culture(string command, string expected)
    {
        // Under de-DE the message said "got 0,7" for the 0.7 the user wrote: the form the tool itself refuses.
        var env = new Dictionary<string, string> { ["LANG"] = "de_DE.UTF-8", ["LC_ALL"] = "de_DE.UTF-8", ["DOTNET_SYSTEM_GLOBALIZATION_INVARIANT"] = "0" };
        var probe = await Run(env, null, "--version");
        if (probe.Code != 0) Assert.Skip($"no ICU on this machine: {probe.Error}");

        var run = command == "aggregate"
            ? await Run(env, """{"updates": [], "config": {"trim_alpha": 0.7}}""", "aggregate", "-")
            : await Run(env, null, "demo", "--beta", "1.5", "--meta-rounds", "1", "--out", _dir);

        Assert.Equal(MetaGpuApp.ExitUserError, run.Code);
        Assert.Contains(expected, run.Error, StringComparison.Ordinal);
    }

    private static async Task<(int Code, string Out, string Error)> Run(Dictionary<string, string> env, string? stdin, params string[] args)
    {
        var start = new ProcessStartInfo(CliRun.DotnetHost()) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(CliRun.Assembly);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        foreach (var (key, value) in env) start.Environment[key] = value;
        using var process = Process.Start(start)!;
        if (stdin is not null) await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }
}
