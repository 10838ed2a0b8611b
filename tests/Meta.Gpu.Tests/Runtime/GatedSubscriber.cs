using System.Collections.Concurrent;
using Meta.Gpu.Runtime;

namespace Meta.Gpu.Tests.Runtime;

/// <summary>A subscriber of topic "t" on an in-process bus whose handler waits on <see cref="Gate"/> (stuck until it is
/// set, or open from the start) and tells when it has seen a payload: with a queue capacity of 1, a stuck one holds a
/// publish waiting for room.</summary>
internal sealed class GatedSubscriber : IDisposable
{
    private readonly ConcurrentDictionary<int, TaskCompletionSource> _seen = new();
    private readonly IDisposable _subscription;

    public GatedSubscriber(EventBus bus, bool stuck)
    {
        if (!stuck) Gate.SetResult();
        _subscription = bus.Subscribe("t", async (e, _) =>
        {
            Seen((int)e.Payload!).TrySetResult();
            await Gate.Task;
        });
    }

    public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Seen(int payload) =>
        _seen.GetOrAdd(payload, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public void Dispose()
    {
        Gate.TrySetResult();
        _subscription.Dispose();
    }
}
