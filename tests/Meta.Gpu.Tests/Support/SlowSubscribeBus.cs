using Meta.Gpu.Runtime;

namespace Meta.Gpu.Tests.Support;

/// <summary>A bus whose Subscribe waits for <see cref="Release"/> (a stop can run meanwhile); it counts the
/// subscriptions not yet disposed.</summary>
internal sealed class SlowSubscribeBus : IEventBus
{
    private int _live;

    public ManualResetEventSlim Entered { get; } = new();

    public ManualResetEventSlim Release { get; } = new();

    public int Live => Volatile.Read(ref _live);

    public ValueTask PublishAsync(string topic, object? payload, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public IDisposable Subscribe(string topic, Func<BusEvent, CancellationToken, ValueTask> handler) => Subscribe([topic], handler);

    public IDisposable Subscribe(IReadOnlyList<string> topics, Func<BusEvent, CancellationToken, ValueTask> handler)
    {
        Entered.Set();
        Release.Wait(TimeSpan.FromSeconds(30));
        Interlocked.Increment(ref _live);
        return new Subscription(this);
    }

    public Task WaitForIdleAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task ShutdownAsync(TimeSpan timeout) => Task.CompletedTask;

    public EventBusStats Stats => new(0, 0, 0, 0, Live);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private sealed class Subscription(SlowSubscribeBus bus) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) Interlocked.Decrement(ref bus._live);
        }
    }
}
