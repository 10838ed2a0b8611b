using Meta.Gpu.Runtime;

namespace Meta.Gpu.Cli.Bench;

/// <summary>
/// <c>bus_delivery</c>: the in-process <see cref="EventBus"/> (default options: bounded queues with backpressure)
/// with 4 subscribers on one topic; each repeat publishes <see cref="BenchOptions.BusEvents"/> events one after
/// another and waits until the bus is idle, so the time covers every delivery. Reports deliveries per second and
/// how many deliveries are missing (must be 0: nothing is dropped).
/// </summary>
public static class BusWorkload
{
    public const int Subscribers = 4;

    private const string Topic = "bench.delivery";

    public static async Task<BenchResult> RunAsync(BenchOptions options, CancellationToken token)
    {
        ArgumentNullException.ThrowIfNull(options);
        var events = Math.Max(options.BusEvents, 1);
        long delivered = 0;
        var bus = new EventBus();
        await using (bus.ConfigureAwait(false))
        {
            var subscriptions = new List<IDisposable>();
            for (var s = 0; s < Subscribers; s++)
                subscriptions.Add(bus.Subscribe(Topic, (_, _) =>
                {
                    Interlocked.Increment(ref delivered);
                    return ValueTask.CompletedTask;
                }));
            // One boxed payload reused: the bus is timed, not the caller's allocations.
            object payload = 42.0;
            var times = new RowRepeats(options.Repeats, options.RowBudget);
            long lost = 0;
            for (var r = -options.Warmup; r < 0 || times.More; r++)
            {
                var before = Interlocked.Read(ref delivered);
                var start = System.Diagnostics.Stopwatch.GetTimestamp();
                for (var i = 0; i < events; i++) await bus.PublishAsync(Topic, payload, token).ConfigureAwait(false);
                await bus.WaitForIdleAsync(token).ConfigureAwait(false);
                var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(start);
                var got = Interlocked.Read(ref delivered) - before;
                lost += (long)events * Subscribers - got;
                if (r >= 0) times.Add(elapsed);
            }
            foreach (var s in subscriptions) s.Dispose();
            var row = BenchResult.Timed(BenchWorkloads.BusDelivery, BenchBackends.Cpu, Subscribers, 0, times.Milliseconds, 0, 0);
            return row with
            {
                OpsPerS = (double)events * Subscribers / (row.MedianMs!.Value * 1e-3),
                Lost = lost,
                Note = $"EventBus, {Subscribers} subscribers, {events} events per repeat (times are per repeat)",
            };
        }
    }
}
