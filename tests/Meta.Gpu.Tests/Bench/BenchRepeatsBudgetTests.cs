using System.Text.Json.Nodes;
using Meta.Gpu.Cli.Bench;
using Meta.Gpu.Tests.Storage;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Bench;

/// <summary>
/// A large <c>--repeats</c> is bounded by the row budget (benchmarks/README.md: "a row whose timed calls pass 10 s
/// stops at 3 (the JSON's repeats says how many)"; <see cref="BenchOptions.RowBudget"/>: "a row stops repeating once
/// it has 3 repeats"), on every row: never an allocation of one slot per asked repeat up front, never a run of
/// repeats x calls without end.
/// </summary>
[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class BenchRepeatsBudgetTests
{
    [Fact]
    public async Task A_repeats_count_beyond_any_array_is_bounded_by_the_row_budget_not_a_crash()
    {
        using var folder = new TempFolder();
        // Before: "Out of memory." and exit 134 (a List of int.MaxValue doubles made before the first timed call).
        var (code, _, error) = await CliRun.RunAsync("", "bench", "--quick", "--n", "4", "--d", "64", "--repeats", "2147483647", "--warmup", "0",
            "--workloads", "weighted_mean", "--backends", "cpu", "--out", folder.Path);

        Assert.True(code == 0, $"exit {code}: {error}");
        var row = Assert.Single(JsonNode.Parse(File.ReadAllText(Path.Combine(folder.Path, "bench.json")))!["results"]!.AsArray())!;
        Assert.InRange(row["repeats"]!.GetValue<int>(), Stopwatches.MinRepeats, int.MaxValue - 1);
    }

    [Theory]
    [InlineData(BenchWorkloads.GovernanceUpdate)]
    [InlineData(BenchWorkloads.BusDelivery)]
    [InlineData(BenchWorkloads.AgentRound)]
    public async Task The_host_workloads_stop_repeating_once_their_timed_total_passes_the_row_budget(string workload)
    {
        var options = BenchOptions.QuickDefaults with
        {
            Repeats = 500,
            Warmup = 0,
            RowBudget = TimeSpan.FromMilliseconds(1),
            GovernanceCalls = 2_000,
            BusEvents = 2_000,
        };
        var row = workload switch
        {
            BenchWorkloads.GovernanceUpdate => GovernanceWorkload.Run(options, 10),
            BenchWorkloads.BusDelivery => await BusWorkload.RunAsync(options, CancellationToken.None),
            _ => await AgentRoundWorkload.RunAsync(options, 4, CancellationToken.None),
        };

        // Before: all 500 repeats, whatever the budget (--repeats 10000 ran governance for half an hour).
        Assert.Null(row.Skipped);
        Assert.InRange(row.Repeats, Stopwatches.MinRepeats, 499);
        Assert.InRange(row.MedianMs!.Value, row.MinMs!.Value, row.MaxMs!.Value);
    }

    [Theory]
    [InlineData("stopwatches")]
    [InlineData(BenchWorkloads.GovernanceUpdate)]
    [InlineData(BenchWorkloads.BusDelivery)]
    [InlineData(BenchWorkloads.AgentRound)]
    public async Task A_row_whose_every_repeat_passes_the_budget_stops_at_exactly_three(string workload)
    {
        // A budget of nothing: each timed repeat passes it, so the row stops as soon as it has its 3 ("a row whose
        // timed calls pass 10 s stops at 3"), neither earlier nor one repeat later.
        var options = BenchOptions.QuickDefaults with
        {
            Repeats = 500,
            Warmup = 0,
            RowBudget = TimeSpan.Zero,
            GovernanceCalls = 200,
            BusEvents = 200,
        };
        var repeats = workload switch
        {
            "stopwatches" => Stopwatches.Time(() => Thread.Sleep(1), warmup: 0, repeats: options.Repeats, budget: options.RowBudget).Length,
            BenchWorkloads.GovernanceUpdate => GovernanceWorkload.Run(options, 10).Repeats,
            BenchWorkloads.BusDelivery => (await BusWorkload.RunAsync(options, CancellationToken.None)).Repeats,
            _ => (await AgentRoundWorkload.RunAsync(options, 4, CancellationToken.None)).Repeats,
        };

        Assert.Equal(Stopwatches.MinRepeats, repeats);
    }
}
