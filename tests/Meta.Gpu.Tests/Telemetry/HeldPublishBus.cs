using Meta.Gpu.Runtime;

namespace Meta.Gpu.Tests.Telemetry;

/// <summary>A bus whose <paramref name="heldCall"/>-th publish (1-based) waits for <see cref="Release"/> whatever its
/// token says (a broker's request that is not cancelled mid-flight); every other publish goes through at once.</summary>
internal sealed class HeldPublishBus(int heldCall) : IEventBus
{
    private int _calls;

    public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async ValueTask PublishAsync(string topic, object? payload, CancellationToken cancellationToken = default)
    {
        if (Interlocked.Increment(ref _calls) != heldCall) return;
        Entered.TrySetResult();
        await Release.Task;
    }

    public IDisposable Subscribe(string topic, Func<BusEvent, CancellationToken, ValueTask> handler) => throw new NotSupportedException();

    public Task WaitForIdleAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task ShutdownAsync(TimeSpan timeout) => Task.CompletedTask;

    public EventBusStats Stats => new(0, 0, 0, 0, 0);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
