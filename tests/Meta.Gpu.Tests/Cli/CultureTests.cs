using System.Diagnostics;
using Meta.Gpu.Cli;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Cli;

/// <summary>Number options read the same whatever the culture: '.' is the decimal point, and a ',' is no digit
/// group to skip (System.CommandLine's default double parser is double.TryParse in the current culture, with
/// AllowThousands).</summary>
public sealed class CultureTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cli-culture-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("serve", "--ack-wait")]
    [InlineData("serve", "--connect-timeout")]
    [InlineData("demo", "--beta")]
    public async Task A_decimal_comma_is_refused_not_read_as_a_thousands_separator(string command, string option)
    {
        // "0,5" was read as 5 (the ',' skipped as a digit-group separator): a silent 10x, where "abc" is refused.
        // Port 1 refuses at once, should the value ever get as far as dialling.
        string[] args = (command, option) switch
        {
            ("serve", "--connect-timeout") => ["serve", "--bus", "nats://127.0.0.1:1", "--backend", "cpu", option, "0,5"],
            ("serve", _) => ["serve", "--bus", "nats://127.0.0.1:1", "--backend", "cpu", "--connect-timeout", "1", option, "0,5"],
            (_, "--beta") => ["demo", "--out", _dir, "--meta-rounds", "1", option, "0,5"],
            _ => ["demo", "--bus", "nats://127.0.0.1:1", "--connect-timeout", "1", "--out", _dir, "--meta-rounds", "1", option, "0,5"],
        };

        var (code, _, error) = await CliRun.RunAsync("", args);

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.Contains(option, error, StringComparison.Ordinal);
        Assert.Contains("0,5", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_decimal_point_means_the_same_under_a_german_culture()
    {
        // The tool is built with invariant globalization, but DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=0 (what a user
        // sets for another tool, or a container image sets) turns the machine's culture back on: under de-DE
        // "--connect-timeout 0.5" became 5 s ('.' is the German digit-group separator). The bus demo passes
        // "--connect-timeout" to its worker processes formatted with '.', so they too waited 10x as long.
        var env = new Dictionary<string, string> { ["LANG"] = "de_DE.UTF-8", ["LC_ALL"] = "de_DE.UTF-8", ["DOTNET_SYSTEM_GLOBALIZATION_INVARIANT"] = "0" };
        var probe = await Run(env, "--version");
        if (probe.Code != 0) Assert.Skip($"no ICU on this machine: {probe.Error}");

        var run = await Run(env, "serve", "--bus", "nats://127.0.0.1:1", "--backend", "cpu", "--connect-timeout", "0.5");

        Assert.Equal(MetaGpuApp.ExitUserError, run.Code);
        // The message may print the seconds in the user's culture; the wait must be half a second, not 5.
        Assert.Matches(@"broker not reachable within 0[.,]5 s", run.Error);
    }

    private static async Task<(int Code, string Out, string Error)> Run(Dictionary<string, string> env, params string[] args)
    {
        var start = new ProcessStartInfo(CliRun.DotnetHost()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(CliRun.Assembly);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        foreach (var (key, value) in env) start.Environment[key] = value;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }
}
