using Meta.Gpu.Learning;
using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Learning;

/// <summary>A stop that runs while the agent's start is subscribing: once the stop has returned the agent holds no
/// subscription, and the start is refused as a start after a stop is. The start's subscription, made after the stop
/// took the list, stayed on the bus, its deliveries turned away unacknowledged, and the start returned as if it
/// had worked.</summary>
public sealed class AgentStopDuringStartTests
{
    [Fact]
    public async Task A_subscription_made_while_the_stop_ran_is_disposed_and_the_start_is_refused()
    {
        var bus = new SlowSubscribeBus();
        var agent = new MetaLearningAgent(bus, MetaLearningConfig.Default, new InMemoryPriorStore());
        var start = Task.Factory.StartNew(() => agent.StartAsync(), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        Assert.True(bus.Entered.Wait(TimeSpan.FromSeconds(30)));

        await agent.StopAsync();
        bus.Release.Set();
        var error = await Record.ExceptionAsync(() => start);

        Assert.True(bus.Live == 0, $"{bus.Live} subscription(s) still on the bus after StopAsync returned");
        Assert.IsType<ObjectDisposedException>(error);
    }
}
