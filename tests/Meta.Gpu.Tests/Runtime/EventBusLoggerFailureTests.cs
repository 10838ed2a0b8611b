using System.Collections.Concurrent;
using Meta.Gpu.Runtime;
using Meta.Gpu.Serialization;
using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Tests.Runtime;

/// <summary>A logger that throws (a failing logging provider) while the in-process bus reports a failure: the
/// failure stays counted, and the bus goes on.</summary>
public sealed class EventBusLoggerFailureTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_throwing_logger_does_not_stop_a_subscriber_whose_handler_failed()
    {
        // DESIGN §3: a throwing handler is isolated, logged and counted. If reporting the failure throws (a logging
        // provider that fails), the subscriber must still go on with the next delivery.
        var bus = new EventBus(new EventBusOptions(Logger: new ThrowingLogger()));
        var seen = new ConcurrentQueue<int>();
        using var s = bus.Subscribe("t", (e, _) =>
        {
            var n = BusPayload.As<int>(e.Payload);
            if (n == 0) throw new InvalidOperationException("boom");
            seen.Enqueue(n);
            return ValueTask.CompletedTask;
        });
        for (var i = 0; i < 3; i++) await bus.PublishAsync("t", i);

        var idle = await Record.ExceptionAsync(() => bus.WaitForIdleAsync().WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Null(idle); // TimeoutException before: the subscriber's loop died with the logger's exception
        Assert.Equal([1, 2], seen);
        Assert.Equal(1, bus.Stats.Errors);
    }

    [Fact]
    public async Task A_throwing_logger_does_not_fault_a_shutdown_that_timed_out()
    {
        // The drain-timeout warning is the last step of ShutdownCoreAsync: a logger that throws there faults the
        // shutdown task (and DisposeAsync) after the bus did stop.
        var bus = new EventBus(new EventBusOptions(Logger: new ThrowingLogger()));
        using var s = bus.Subscribe("t", async (_, token) => await Task.Delay(Timeout.Infinite, token));
        await bus.PublishAsync("t", 1);
        var error = await Record.ExceptionAsync(() => bus.ShutdownAsync(TimeSpan.FromMilliseconds(100)).WaitAsync(Patience));
        Assert.Null(error);
    }

    private sealed class ThrowingLogger : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            throw new IOException("log sink unavailable");
    }
}
