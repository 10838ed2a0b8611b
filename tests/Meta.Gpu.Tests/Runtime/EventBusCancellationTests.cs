using Meta.Gpu.Runtime;

namespace Meta.Gpu.Tests.Runtime;

public sealed class EventBusCancellationTests
{
    [Fact]
    public async Task A_publish_whose_token_is_already_cancelled_delivers_nothing()
    {
        await using var bus = new EventBus();
        var got = 0;
        using var s = bus.Subscribe("t", (_, _) => { Interlocked.Increment(ref got); return ValueTask.CompletedTask; });
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var error = await Record.ExceptionAsync(async () => await bus.PublishAsync("t", 1, cts.Token));
        await bus.WaitForIdleAsync();
        Assert.Equal(0, got);
        Assert.True(error is OperationCanceledException, $"publish with a cancelled token: error {error?.GetType().Name ?? "none"}, delivered {got}");
    }
}
