using Meta.Gpu.Runtime;

namespace Meta.Gpu.Tests.Runtime;

public sealed class SubscriberLifetimeTests
{
    // Two stops at once (a DisposeAsync racing a StopAsync from a Ctrl-C handler): both enumerate the same
    // subscription list, the first Clear()s it while the second is still inside its foreach, and the second stop
    // throws "Collection was modified" instead of being the idempotent no-op the docs promise.
    [Fact]
    public async Task Two_concurrent_stops_both_complete_and_release_once()
    {
        var lifetime = new SubscriberLifetime();
        using var secondEntered = new ManualResetEventSlim();
        using var released = new ManualResetEventSlim();
        var calls = 0;
        lifetime.Add(owner: this, subscription: new Callback(() =>
        {
            if (Interlocked.Increment(ref calls) == 1) WaitHandle.WaitAny([secondEntered.WaitHandle, released.WaitHandle], TimeSpan.FromSeconds(10));
            else
            {
                secondEntered.Set();
                released.Wait(TimeSpan.FromSeconds(10));
            }
        }));
        var releases = 0;
        void Release()
        {
            Interlocked.Increment(ref releases);
            released.Set();
        }

        var first = Task.Run(() => lifetime.StopAsync(Release, CancellationToken.None));
        var second = Task.Run(async () =>
        {
            while (Volatile.Read(ref calls) == 0) await Task.Delay(1);
            await lifetime.StopAsync(Release, CancellationToken.None);
        });

        await first.WaitAsync(TimeSpan.FromSeconds(15));
        var error = await Record.ExceptionAsync(() => second.WaitAsync(TimeSpan.FromSeconds(15)));
        Assert.Null(error);
        Assert.Equal(1, releases);
    }

    private sealed class Callback(Action dispose) : IDisposable
    {
        public void Dispose() => dispose();
    }
}
