using BenchmarkDotNet.Attributes;
using Meta.Gpu.Runtime;

namespace Meta.Gpu.Benchmarks;

/// <summary>
/// Event-bus throughput (DESIGN §3): the in-process <see cref="EventBus"/> (default bounded queues, backpressure),
/// 4 subscribers on one topic; one operation = one event published and delivered to all 4 (each invocation publishes
/// <see cref="Events"/> events and waits until the bus is idle). Deliveries per second = 4 / (time per operation).
/// Target: &gt;= 500,000 deliveries/s on the 2-core machine, nothing lost (checked after every invocation).
/// </summary>
[BenchmarkCategory("bus_delivery")]
public class BusDelivery
{
    public const int Events = 10_000;
    public const int Subscribers = 4;
    private const string Topic = "bench.delivery";

    private EventBus bus = null!;
    private readonly List<IDisposable> subscriptions = [];
    private long delivered;
    private readonly object payload = 42.0;

    [GlobalSetup]
    public void Setup()
    {
        bus = new EventBus();
        for (var s = 0; s < Subscribers; s++)
            subscriptions.Add(bus.Subscribe(Topic, (_, _) =>
            {
                Interlocked.Increment(ref delivered);
                return ValueTask.CompletedTask;
            }));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var s in subscriptions) s.Dispose();
        bus.ShutdownAsync(TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
    }

    [Benchmark(OperationsPerInvoke = Events)]
    public async Task PublishAndDeliver()
    {
        var before = Interlocked.Read(ref delivered);
        for (var i = 0; i < Events; i++) await bus.PublishAsync(Topic, payload).ConfigureAwait(false);
        await bus.WaitForIdleAsync().ConfigureAwait(false);
        var got = Interlocked.Read(ref delivered) - before;
        if (got != (long)Events * Subscribers)
            throw new InvalidOperationException($"lost deliveries: {got} of {(long)Events * Subscribers}");
    }
}
