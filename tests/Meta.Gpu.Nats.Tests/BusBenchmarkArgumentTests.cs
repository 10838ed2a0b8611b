using System.Diagnostics;

namespace Meta.Gpu.Nats.Tests;

/// <summary>The bus benchmark's <c>--only</c> ran nothing for a misspelt scenario and still exited 0, so a script's
/// measurement went missing without a word. It now exits 2 naming the scenario, before it starts a broker.</summary>
public sealed class BusBenchmarkArgumentTests
{
    private static async Task<(int Exit, string Error)> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Meta.Gpu.Nats.Benchmarks.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.DoesNotContain("broker", await output, StringComparison.Ordinal);
        return (process.ExitCode, await error);
    }

    [Fact]
    public async Task An_unknown_scenario_exits_2_naming_it_and_the_known_ones()
    {
        var (exit, error) = await RunAsync("--only", "durable,telemtry");
        Assert.Equal(2, exit);
        Assert.Contains("'telemtry'", error, StringComparison.Ordinal);
        Assert.Contains("inprocess,telemetry,durable,dense", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_without_a_list_exits_2()
    {
        var (exit, error) = await RunAsync("--only");
        Assert.Equal(2, exit);
        Assert.Contains("--only needs a comma list", error, StringComparison.Ordinal);
    }
}
