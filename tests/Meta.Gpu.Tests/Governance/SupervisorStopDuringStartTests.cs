using Meta.Gpu.Governance;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Governance;

/// <summary>A stop that runs while a start is subscribing: once the stop has returned the supervisor holds no
/// subscription (StopAsync "unsubscribes"); the start's subscription, made after the stop took the list, was
/// kept on the bus for good, its deliveries turned away unacknowledged.</summary>
public sealed class SupervisorStopDuringStartTests
{
    [Fact]
    public async Task A_subscription_made_while_the_stop_ran_is_disposed_and_the_start_is_refused()
    {
        var bus = new SlowSubscribeBus();
        var supervisor = new MetaSupervisor(bus);
        var start = Task.Factory.StartNew(supervisor.Start, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Assert.True(bus.Entered.Wait(TimeSpan.FromSeconds(30)));

        await supervisor.StopAsync();
        bus.Release.Set();
        var error = await Record.ExceptionAsync(() => start);

        Assert.True(bus.Live == 0, $"{bus.Live} subscription(s) still on the bus after StopAsync returned");
        Assert.IsType<ObjectDisposedException>(error);
    }
}
