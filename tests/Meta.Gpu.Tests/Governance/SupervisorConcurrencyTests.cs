using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Meta.Gpu.Governance;
using Meta.Gpu.Runtime;

namespace Meta.Gpu.Tests.Governance;

/// <summary>
/// MetaSupervisor.HandleAsync "waits for the one in progress first ... a host that feeds events itself may call it
/// directly", which is what keeps MetaIntegrativeLayer ("not thread-safe: one caller at a time") safe: many threads
/// feeding the same window at once leave the layer where as many serial calls leave it.
/// </summary>
public sealed class SupervisorConcurrencyTests
{
    private const string Window = """{"accept_rate": 0.02, "stability_avg": 0.5, "engine_latency_ms": 400, "gain_p50": 0.01}""";

    private static async Task<MetaSupervisor> FedAsync(int threads, int perThread)
    {
        var bus = new EventBus();
        var supervisor = new MetaSupervisor(bus);
        var start = new Barrier(threads);
        var failures = new ConcurrentQueue<Exception>();
        var workers = Enumerable.Range(0, threads).Select(_ => Task.Factory.StartNew(async () =>
        {
            start.SignalAndWait();
            try
            {
                for (var i = 0; i < perThread; i++)
                    await supervisor.HandleAsync(new BusEvent(GovernanceTopics.ProcessingMetrics, JsonNode.Parse(Window)), CancellationToken.None);
            }
            catch (Exception e)
            {
                failures.Enqueue(e);
            }
        }, TaskCreationOptions.LongRunning).Unwrap()).ToArray();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Empty(failures);
        return supervisor;
    }

    [Fact]
    public async Task Windows_handled_from_many_threads_at_once_leave_the_layer_as_serial_handling_does()
    {
        await using var concurrent = await FedAsync(threads: 6, perThread: 300);
        await using var serial = await FedAsync(threads: 1, perThread: 6 * 300);

        Assert.Equal(serial.Layer.State.DecisionCount, concurrent.Layer.State.DecisionCount);
        Assert.Equal(6 * 300, concurrent.Layer.State.DecisionCount);
        Assert.Equal(serial.Layer.State.RewardEma, concurrent.Layer.State.RewardEma);
        Assert.Equal(serial.Layer.State.Knobs, concurrent.Layer.State.Knobs);
        Assert.Equal(serial.Profile, concurrent.Profile);
        Assert.Equal(serial.LowAcceptWindows, concurrent.LowAcceptWindows);
    }
}
