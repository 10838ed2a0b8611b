using Meta.Gpu.Governance;
using Meta.Gpu.Runtime;

namespace Meta.Gpu.Tests.Governance;

/// <summary>Two starts of one supervisor at once: one subscribes, the other is refused ("already started"), so
/// each window is governed once (a second subscription ran every update twice).</summary>
public sealed class SupervisorStartRaceTests
{
    /// <summary>Counts subscriptions; delivers nothing.</summary>
    private sealed class CountingBus : IEventBus
    {
        private int _subscriptions;

        public int Subscriptions => Volatile.Read(ref _subscriptions);

        public ValueTask PublishAsync(string topic, object? payload, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public IDisposable Subscribe(string topic, Func<BusEvent, CancellationToken, ValueTask> handler) => Subscribe([topic], handler);

        public IDisposable Subscribe(IReadOnlyList<string> topics, Func<BusEvent, CancellationToken, ValueTask> handler)
        {
            Interlocked.Increment(ref _subscriptions);
            return new Unsubscribe();
        }

        public Task WaitForIdleAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task ShutdownAsync(TimeSpan timeout) => Task.CompletedTask;

        public EventBusStats Stats => new(0, 0, 0, 0, Subscriptions);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        private sealed class Unsubscribe : IDisposable
        {
            public void Dispose()
            {
            }
        }
    }

    [Fact]
    public void Two_starts_at_once_subscribe_once_and_the_other_is_refused()
    {
        // The window between the check and the set was a few instructions, open only while both threads hold a core:
        // up to 20 rounds of 20,000 pairs (at most 10 s), stopping at the first round with a supervisor started
        // twice. On a 2-core machine under a load of 24 the unfixed start failed 6 runs in 6, each time with hundreds to
        // thousands of doubled supervisors in the failing round.
        const int perRound = 20_000;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var round = 0; round < 20 && clock.Elapsed < TimeSpan.FromSeconds(10); round++)
        {
            var buses = Enumerable.Range(0, perRound).Select(_ => new CountingBus()).ToArray();
            var supervisors = buses.Select(b => new MetaSupervisor(b)).ToArray();
            var refused = new int[perRound];
            var arrived = 0;
            var threads = Enumerable.Range(0, 2).Select(_ => new Thread(() =>
            {
                for (var i = 0; i < perRound; i++)
                {
                    // Both threads spin to the same start line (a blocking barrier wakes one a few microseconds
                    // after the other, far wider than the window).
                    Interlocked.Increment(ref arrived);
                    var spin = new SpinWait();
                    while (Volatile.Read(ref arrived) < 2 * (i + 1)) spin.SpinOnce(sleep1Threshold: -1);
                    try
                    {
                        supervisors[i].Start();
                    }
                    catch (InvalidOperationException)
                    {
                        Interlocked.Increment(ref refused[i]);
                    }
                }
            })).ToArray();
            foreach (var thread in threads) thread.Start();
            foreach (var thread in threads) thread.Join();

            var doubled = Enumerable.Range(0, perRound).Count(i => buses[i].Subscriptions != 1 || refused[i] != 1);
            Assert.True(doubled == 0, $"round {round}: {doubled} of {perRound} supervisors started twice (two subscriptions, no refusal)");
        }
    }
}
