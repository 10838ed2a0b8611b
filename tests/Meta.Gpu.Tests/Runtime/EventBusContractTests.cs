using System.Collections.Concurrent;
using Meta.Gpu.Runtime;
using Meta.Gpu.Serialization;
using Meta.Gpu.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Tests.Runtime;

/// <summary>
/// The behaviour every <see cref="IEventBus"/> owes its users (DESIGN §3). A concrete class per implementation
/// supplies <see cref="CreateBus"/>; the in-process bus and the NATS bus (tests/Meta.Gpu.Nats.Tests) run it.
/// Handlers read payloads through <see cref="BusPayload"/>, as real subscribers do: in process they get the
/// published object, across a broker its JSON.
/// </summary>
public abstract class EventBusContractTests
{
    /// <summary>Generous bound on any single wait, so that a broken bus fails the test instead of hanging it.</summary>
    /// <summary>How long a test waits for the bus before it fails. A bus behind a broker on a loaded 2-core CI
    /// machine needs more than the in-process one; a bus that never delivers still fails.</summary>
    protected virtual TimeSpan Patience => TimeSpan.FromSeconds(15);

    protected abstract IEventBus CreateBus(int queueCapacity = 1024, ILogger? logger = null);

    [Fact]
    public async Task Delivers_to_every_subscriber_in_publish_order()
    {
        await using var bus = CreateBus(queueCapacity: 16);
        var first = new ConcurrentQueue<int>();
        var second = new ConcurrentQueue<int>();
        using var a = bus.Subscribe("numbers", (e, _) => { first.Enqueue(BusPayload.As<int>(e.Payload)); return ValueTask.CompletedTask; });
        using var b = bus.Subscribe("numbers", async (e, _) => { if (BusPayload.As<int>(e.Payload) % 97 == 0) await Task.Yield(); second.Enqueue(BusPayload.As<int>(e.Payload)); });

        for (var i = 0; i < 2_000; i++) await bus.PublishAsync("numbers", i);
        await bus.WaitForIdleAsync().WaitAsync(Patience);

        Assert.Equal(Enumerable.Range(0, 2_000), first);
        Assert.Equal(Enumerable.Range(0, 2_000), second);
    }

    [Fact]
    public async Task Delivers_only_to_subscribers_of_the_topic()
    {
        await using var bus = CreateBus();
        var seen = new ConcurrentQueue<string>();
        using var a = bus.Subscribe("a", (e, _) => { seen.Enqueue("a:" + e.Payload); return ValueTask.CompletedTask; });
        using var b = bus.Subscribe("b", (e, _) => { seen.Enqueue("b:" + e.Payload); return ValueTask.CompletedTask; });

        await bus.PublishAsync("a", "x");
        await bus.PublishAsync("nobody", "y");
        await bus.WaitForIdleAsync().WaitAsync(Patience);

        Assert.Equal(["a:x"], seen);
    }

    [Fact]
    public async Task A_throwing_handler_is_isolated_logged_and_counted()
    {
        var logger = new RecordingLogger();
        await using var bus = CreateBus(logger: logger);
        var healthy = new ConcurrentQueue<int>();
        var survivedByThrower = new ConcurrentQueue<int>();
        using var thrower = bus.Subscribe("t", (e, _) =>
        {
            var n = BusPayload.As<int>(e.Payload);
            if (n % 2 == 0) throw new InvalidOperationException($"boom {n}");
            survivedByThrower.Enqueue(n);
            return ValueTask.CompletedTask;
        });
        using var asyncThrower = bus.Subscribe("t", async (e, _) =>
        {
            await Task.Yield();
            if (BusPayload.As<int>(e.Payload) == 3) throw new InvalidOperationException("async boom");
        });
        using var good = bus.Subscribe("t", (e, _) => { healthy.Enqueue(BusPayload.As<int>(e.Payload)); return ValueTask.CompletedTask; });

        for (var i = 0; i < 10; i++) await bus.PublishAsync("t", i);
        await bus.WaitForIdleAsync().WaitAsync(Patience);

        Assert.Equal(Enumerable.Range(0, 10), healthy);
        Assert.Equal([1, 3, 5, 7, 9], survivedByThrower);
        Assert.Equal(6, bus.Stats.Errors);
        Assert.Equal(30, bus.Stats.Delivered);
        var errors = logger.AtLeast(LogLevel.Error);
        Assert.Equal(6, errors.Count);
        Assert.All(errors, e => Assert.IsType<InvalidOperationException>(e.Exception));
        Assert.Contains(errors, e => e.Exception!.Message == "async boom");
    }

    [Fact]
    public async Task WaitForIdle_covers_deliveries_published_by_handlers()
    {
        await using var bus = CreateBus();
        var leaves = 0;
        using var root = bus.Subscribe("root", async (e, _) =>
        {
            await Task.Delay(5);
            for (var i = 0; i < 3; i++) await bus.PublishAsync("middle", i);
        });
        using var middle = bus.Subscribe("middle", async (e, _) =>
        {
            await Task.Delay(5);
            await bus.PublishAsync("leaf", e.Payload);
        });
        using var leaf = bus.Subscribe("leaf", async (e, _) =>
        {
            await Task.Delay(5);
            Interlocked.Increment(ref leaves);
        });

        await bus.PublishAsync("root", null);
        await bus.PublishAsync("root", null);
        await bus.WaitForIdleAsync().WaitAsync(Patience);

        Assert.Equal(6, Volatile.Read(ref leaves));
        Assert.Equal(2 + 6 + 6, bus.Stats.Delivered);
    }

    [Fact]
    public async Task WaitForIdle_is_immediate_on_an_idle_bus()
    {
        await using var bus = CreateBus();
        await bus.WaitForIdleAsync().WaitAsync(Patience);
        using var s = bus.Subscribe("t", (_, _) => ValueTask.CompletedTask);
        await bus.PublishAsync("t", 1);
        await bus.WaitForIdleAsync().WaitAsync(Patience);
        await bus.WaitForIdleAsync().WaitAsync(Patience);
        Assert.Equal(1, bus.Stats.Delivered);
    }

    [Fact]
    public async Task WaitForIdle_from_inside_a_handler_fails_instead_of_deadlocking()
    {
        await using var bus = CreateBus();
        var outcome = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var s = bus.Subscribe("t", async (_, _) =>
        {
            try
            {
                await bus.WaitForIdleAsync().WaitAsync(Patience);
                outcome.SetResult(null);
            }
            catch (Exception e)
            {
                outcome.SetResult(e);
            }
        });

        await bus.PublishAsync("t", 1);
        var error = await outcome.Task.WaitAsync(Patience);

        Assert.IsType<InvalidOperationException>(error);
        await bus.WaitForIdleAsync().WaitAsync(Patience);
    }

    // Work a handler started and left running (a "stop" command's handler that stops the host in the background) is
    // not inside that handler once it has returned: it waits for nothing of its own, yet it was refused as "called
    // from inside a handler", and a host stopped that way never shut its bus down.

    [Fact]
    public async Task Work_a_handler_left_running_may_wait_for_idle_once_the_handler_returned()
    {
        await using var bus = CreateBus();
        var returned = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task? background = null;
        using var subscription = bus.Subscribe("t", (_, _) =>
        {
            background = Task.Run(async () =>
            {
                await returned.Task;
                await bus.WaitForIdleAsync();
            });
            return ValueTask.CompletedTask;
        });

        await bus.PublishAsync("t", 1);
        await bus.WaitForIdleAsync().WaitAsync(Patience);
        returned.SetResult();

        var error = await Record.ExceptionAsync(() => background!.WaitAsync(Patience));
        Assert.Null(error);
    }

    [Fact]
    public async Task Work_a_handler_left_running_may_shut_the_bus_down_once_the_handler_returned()
    {
        var bus = CreateBus();
        var returned = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task? background = null;
        using var subscription = bus.Subscribe("stop", (_, _) =>
        {
            background = Task.Run(async () =>
            {
                await returned.Task;
                await bus.DisposeAsync();
            });
            return ValueTask.CompletedTask;
        });

        await bus.PublishAsync("stop", 0);
        await bus.WaitForIdleAsync().WaitAsync(Patience);
        returned.SetResult();

        var error = await Record.ExceptionAsync(() => background!.WaitAsync(Patience));
        Assert.Null(error);
        await Assert.ThrowsAsync<InvalidOperationException>(() => bus.PublishAsync("stop", 0).AsTask());
    }

    [Fact]
    public async Task Work_an_earlier_handler_left_running_may_wait_for_idle_while_the_next_delivery_is_handled()
    {
        await using var bus = CreateBus();
        var firstReturned = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondRunning = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseSecond = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task? background = null;
        using var subscription = bus.Subscribe("t", async (e, _) =>
        {
            if (BusPayload.As<int>(e.Payload) == 1)
            {
                background = Task.Run(async () =>
                {
                    await firstReturned.Task;
                    await bus.WaitForIdleAsync();
                });
                return;
            }
            secondRunning.TrySetResult();
            await releaseSecond.Task;
        });

        await bus.PublishAsync("t", 1);
        await bus.PublishAsync("t", 2);
        await secondRunning.Task.WaitAsync(Patience);
        // The same subscription now runs the second delivery: the first's work is still not inside a running handler.
        firstReturned.SetResult();
        await Task.Delay(50);
        Assert.False(background!.IsFaulted, background.Exception?.ToString());
        releaseSecond.SetResult();

        var error = await Record.ExceptionAsync(() => background.WaitAsync(Patience));
        Assert.Null(error);
    }

    [Fact]
    public async Task Work_a_running_handler_waits_on_is_still_refused()
    {
        await using var bus = CreateBus();
        var outcome = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = bus.Subscribe("t", async (_, _) =>
        {
            try
            {
                await Task.Run(() => bus.WaitForIdleAsync()).WaitAsync(Patience);
                outcome.SetResult(null);
            }
            catch (Exception e)
            {
                outcome.SetResult(e);
            }
        });

        await bus.PublishAsync("t", 1);

        Assert.IsType<InvalidOperationException>(await outcome.Task.WaitAsync(Patience));
    }

    [Fact]
    public async Task A_handler_publishing_into_its_own_full_queue_does_not_deadlock()
    {
        await using var bus = CreateBus(queueCapacity: 1);
        var seen = new ConcurrentQueue<int>();
        using var s = bus.Subscribe("countdown", async (e, _) =>
        {
            var n = BusPayload.As<int>(e.Payload);
            seen.Enqueue(n);
            // Several publishes into a queue of one that only this handler drains.
            if (n > 0)
                for (var i = 0; i < 3; i++) await bus.PublishAsync("countdown", n - 1);
        });

        await bus.PublishAsync("countdown", 3);
        await bus.WaitForIdleAsync().WaitAsync(Patience);

        // 1 + 3 + 9 + 27 deliveries, breadth-first order because the queue is FIFO.
        Assert.Equal(40, seen.Count);
        Assert.Equal([3, 2, 2, 2], seen.Take(4));
        Assert.Equal(27, seen.Count(n => n == 0));
    }

    [Fact]
    public async Task Handlers_feeding_each_others_full_queues_do_not_deadlock()
    {
        await using var bus = CreateBus(queueCapacity: 1);
        var count = 0;
        async ValueTask PingPong(BusEvent e, string other)
        {
            Interlocked.Increment(ref count);
            var n = BusPayload.As<int>(e.Payload);
            if (n > 0)
                for (var i = 0; i < 2; i++) await bus.PublishAsync(other, n - 1);
        }
        using var ping = bus.Subscribe("ping", (e, _) => PingPong(e, "pong"));
        using var pong = bus.Subscribe("pong", (e, _) => PingPong(e, "ping"));

        await bus.PublishAsync("ping", 6);
        await bus.WaitForIdleAsync().WaitAsync(Patience);

        Assert.Equal((1 << 7) - 1, Volatile.Read(ref count));
    }

    [Fact]
    public async Task A_slow_subscriber_makes_publish_wait_and_loses_nothing()
    {
        await using var bus = CreateBus(queueCapacity: 2);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var seen = new ConcurrentQueue<int>();
        using var slow = bus.Subscribe("t", async (e, _) =>
        {
            started.TrySetResult();
            await gate.Task;
            seen.Enqueue(BusPayload.As<int>(e.Payload));
        });

        await bus.PublishAsync("t", 0);
        await started.Task.WaitAsync(Patience);
        // The handler holds delivery 0; the queue takes two more; the next publish must wait.
        await bus.PublishAsync("t", 1).AsTask().WaitAsync(Patience);
        await bus.PublishAsync("t", 2).AsTask().WaitAsync(Patience);
        var blocked = bus.PublishAsync("t", 3).AsTask();
        await Task.Delay(100);
        Assert.False(blocked.IsCompleted, "publish should wait while the subscriber's queue is full");

        gate.SetResult();
        await blocked.WaitAsync(Patience);
        for (var i = 4; i < 50; i++) await bus.PublishAsync("t", i);
        await bus.WaitForIdleAsync().WaitAsync(Patience);

        Assert.Equal(Enumerable.Range(0, 50), seen);
    }

    [Fact]
    public async Task A_cancelled_waiting_publish_throws()
    {
        await using var bus = CreateBus(queueCapacity: 1);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var slow = bus.Subscribe("t", async (_, _) => await gate.Task);

        await bus.PublishAsync("t", 0);
        await bus.PublishAsync("t", 1).AsTask().WaitAsync(Patience); // queued, or taken by the handler
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var waiting = bus.PublishAsync("t", 2, cancel.Token).AsTask();
        var secondWaiting = waiting.IsCompleted ? bus.PublishAsync("t", 3, cancel.Token).AsTask() : waiting;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => secondWaiting.WaitAsync(Patience));
        gate.SetResult();
        await bus.WaitForIdleAsync().WaitAsync(Patience);
    }

    [Fact]
    public async Task Concurrent_publishers_lose_nothing_and_keep_each_publishers_order()
    {
        const int publishers = 4;
        const int perPublisher = 5_000;
        await using var bus = CreateBus(queueCapacity: 64);
        var received = Enumerable.Range(0, 3).Select(_ => new ConcurrentQueue<(int Publisher, int Seq)>()).ToArray();
        var subscriptions = received.Select(q => bus.Subscribe("load", (e, _) =>
        {
            var pair = BusPayload.As<int[]>(e.Payload);
            q.Enqueue((pair[0], pair[1]));
            return ValueTask.CompletedTask;
        })).ToList();

        await Task.WhenAll(Enumerable.Range(0, publishers).Select(p => Task.Run(async () =>
        {
            for (var i = 0; i < perPublisher; i++) await bus.PublishAsync("load", new[] { p, i });
        }))).WaitAsync(Patience);
        await bus.WaitForIdleAsync().WaitAsync(Patience);

        foreach (var queue in received)
        {
            Assert.Equal(publishers * perPublisher, queue.Count);
            for (var p = 0; p < publishers; p++)
                Assert.Equal(Enumerable.Range(0, perPublisher), queue.Where(x => x.Publisher == p).Select(x => x.Seq));
        }
        Assert.Equal(publishers * perPublisher, bus.Stats.Published);
        Assert.Equal(3L * publishers * perPublisher, bus.Stats.Delivered);
        subscriptions.ForEach(s => s.Dispose());
    }

    [Fact]
    public async Task Unsubscribe_stops_deliveries_and_updates_stats()
    {
        await using var bus = CreateBus();
        var kept = new ConcurrentQueue<int>();
        var dropped = new ConcurrentQueue<int>();
        using var keep = bus.Subscribe("t", (e, _) => { kept.Enqueue(BusPayload.As<int>(e.Payload)); return ValueTask.CompletedTask; });
        var leave = bus.Subscribe("t", (e, _) => { dropped.Enqueue(BusPayload.As<int>(e.Payload)); return ValueTask.CompletedTask; });
        var other = bus.Subscribe("u", (_, _) => ValueTask.CompletedTask);
        Assert.Equal(3, bus.Stats.Subscribers);
        Assert.Equal(2, bus.Stats.Topics);

        await bus.PublishAsync("t", 1);
        await bus.WaitForIdleAsync().WaitAsync(Patience);
        leave.Dispose();
        leave.Dispose(); // idempotent
        other.Dispose();
        await bus.PublishAsync("t", 2);
        await bus.WaitForIdleAsync().WaitAsync(Patience);

        Assert.Equal([1, 2], kept);
        Assert.Equal([1], dropped);
        Assert.Equal(1, bus.Stats.Subscribers);
        Assert.Equal(1, bus.Stats.Topics);
    }

    [Fact]
    public async Task A_subscriber_of_several_topics_gets_each_in_its_order_and_is_unsubscribed_from_all()
    {
        await using var bus = CreateBus();
        var seen = new ConcurrentQueue<string>();
        var subscription = bus.Subscribe(["a", "b"], (e, _) => { seen.Enqueue($"{e.Topic}{BusPayload.As<int>(e.Payload)}"); return ValueTask.CompletedTask; });
        using var other = bus.Subscribe("c", (_, _) => ValueTask.CompletedTask);

        for (var i = 0; i < 50; i++)
        {
            await bus.PublishAsync("a", i);
            await bus.PublishAsync("b", i);
            await bus.PublishAsync("c", i);
        }
        await bus.WaitForIdleAsync().WaitAsync(Patience);
        subscription.Dispose();
        await bus.PublishAsync("a", 99);
        await bus.PublishAsync("b", 99);
        await bus.WaitForIdleAsync().WaitAsync(Patience);

        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"a{i}"), seen.Where(s => s[0] == 'a'));
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"b{i}"), seen.Where(s => s[0] == 'b'));
        Assert.Equal(100, seen.Count);
        Assert.Equal(1, bus.Stats.Subscribers);
    }

    [Fact]
    public async Task A_several_topic_subscription_refuses_no_topic_an_empty_one_and_one_listed_twice()
    {
        await using var bus = CreateBus();
        Assert.Throws<ArgumentException>(() => bus.Subscribe(Array.Empty<string>(), (_, _) => ValueTask.CompletedTask));
        Assert.ThrowsAny<ArgumentException>(() => bus.Subscribe(["a", ""], (_, _) => ValueTask.CompletedTask));
        var twice = Assert.Throws<ArgumentException>(() => bus.Subscribe(["a", "b", "a"], (_, _) => ValueTask.CompletedTask));
        Assert.Contains("twice", twice.Message, StringComparison.Ordinal);
        Assert.Equal(0, bus.Stats.Subscribers);
    }

    [Fact]
    public async Task Unsubscribing_with_deliveries_queued_leaves_the_bus_idle()
    {
        await using var bus = CreateBus(queueCapacity: 8);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        var s = bus.Subscribe("t", async (_, _) => { Interlocked.Increment(ref calls); await gate.Task; });
        for (var i = 0; i < 5; i++) await bus.PublishAsync("t", i);

        s.Dispose();
        gate.SetResult();
        await bus.WaitForIdleAsync().WaitAsync(Patience);

        // The call running at Dispose finishes; the queued ones are discarded (documented choice).
        Assert.True(Volatile.Read(ref calls) <= 1);
    }

    [Fact]
    public async Task Shutdown_drains_then_refuses_publishes()
    {
        var bus = CreateBus(queueCapacity: 4);
        var seen = new ConcurrentQueue<int>();
        using var s = bus.Subscribe("t", async (e, _) => { await Task.Delay(2); seen.Enqueue(BusPayload.As<int>(e.Payload)); });
        using var nested = bus.Subscribe("t", async (e, _) => await bus.PublishAsync("echo", e.Payload));
        var echoes = 0;
        using var echo = bus.Subscribe("echo", async (_, _) => { await Task.Delay(1); Interlocked.Increment(ref echoes); });
        for (var i = 0; i < 20; i++) await bus.PublishAsync("t", i);

        await bus.ShutdownAsync(Patience).WaitAsync(Patience);

        Assert.Equal(Enumerable.Range(0, 20), seen);
        Assert.Equal(20, Volatile.Read(ref echoes));
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => bus.PublishAsync("t", 99).AsTask());
        Assert.Contains("shut down", error.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => bus.Subscribe("t", (_, _) => ValueTask.CompletedTask));
        await bus.ShutdownAsync(Patience).WaitAsync(Patience); // idempotent
        await bus.DisposeAsync();
        Assert.Equal(20, seen.Count);
    }

    [Theory]
    [InlineData("infinite")]
    [InlineData("TimeSpan.MaxValue")]
    public async Task Shutdown_without_a_limit_drains_every_delivery(string limit)
    {
        var bus = CreateBus(queueCapacity: 4);
        var seen = new ConcurrentQueue<int>();
        using var s = bus.Subscribe("t", async (e, _) => { await Task.Delay(2); seen.Enqueue(BusPayload.As<int>(e.Payload)); });
        for (var i = 0; i < 20; i++) await bus.PublishAsync("t", i);

        await bus.ShutdownAsync(limit == "infinite" ? Timeout.InfiniteTimeSpan : TimeSpan.MaxValue).WaitAsync(Patience);

        Assert.Equal(Enumerable.Range(0, 20), seen);
        await Assert.ThrowsAsync<InvalidOperationException>(() => bus.PublishAsync("t", 99).AsTask());
        await bus.DisposeAsync();
    }

    [Fact]
    public async Task A_negative_drain_limit_is_refused_and_the_bus_goes_on()
    {
        await using var bus = CreateBus();
        var seen = new ConcurrentQueue<int>();
        using var s = bus.Subscribe("t", (e, _) => { seen.Enqueue(BusPayload.As<int>(e.Payload)); return ValueTask.CompletedTask; });

        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => bus.ShutdownAsync(TimeSpan.FromSeconds(-5)));
        Assert.Equal("timeout", error.ParamName);

        await bus.PublishAsync("t", 1);
        await bus.WaitForIdleAsync().WaitAsync(Patience);
        Assert.Equal([1], seen);
    }

    [Fact]
    public async Task Shutdown_with_a_zero_timeout_on_an_idle_bus_is_clean()
    {
        var logger = new RecordingLogger();
        var bus = CreateBus(logger: logger);
        using var s = bus.Subscribe("t", (_, _) => ValueTask.CompletedTask);
        await bus.PublishAsync("t", 1);
        await bus.WaitForIdleAsync().WaitAsync(Patience);

        await bus.ShutdownAsync(TimeSpan.Zero).WaitAsync(Patience);

        Assert.Empty(logger.AtLeast(LogLevel.Warning));
        Assert.Equal(1, bus.Stats.Delivered);
    }

    [Fact]
    public async Task Dispose_shuts_the_bus_down()
    {
        var bus = CreateBus();
        var count = 0;
        using var s = bus.Subscribe("t", (_, _) => { Interlocked.Increment(ref count); return ValueTask.CompletedTask; });
        await bus.PublishAsync("t", 1);
        await bus.DisposeAsync();
        Assert.Equal(1, Volatile.Read(ref count));
        await Assert.ThrowsAsync<InvalidOperationException>(() => bus.PublishAsync("t", 2).AsTask());
    }

    [Fact]
    public async Task Shutdown_with_a_stuck_handler_returns_after_the_timeout_and_cancels_it()
    {
        var logger = new RecordingLogger();
        var bus = CreateBus(logger: logger);
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var s = bus.Subscribe("t", async (_, token) =>
        {
            try
            {
                await Task.Delay(Timeout.Infinite, token);
            }
            catch (OperationCanceledException)
            {
                cancelled.TrySetResult();
                throw;
            }
        });
        await bus.PublishAsync("t", 1);
        await bus.PublishAsync("t", 2);

        await bus.ShutdownAsync(TimeSpan.FromMilliseconds(100)).WaitAsync(Patience);

        await cancelled.Task.WaitAsync(Patience);
        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Warning);
        Assert.Equal(0, bus.Stats.Errors);
        await Assert.ThrowsAsync<InvalidOperationException>(() => bus.PublishAsync("t", 3).AsTask());
    }

    [Fact]
    public async Task A_publish_waiting_for_room_when_the_drain_times_out_is_refused()
    {
        var bus = CreateBus(queueCapacity: 1);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // Ignores its cancellation (a long GPU round): its queue stays full after the stop.
        using var stuck = bus.Subscribe("t", async (_, _) =>
        {
            started.TrySetResult();
            await gate.Task;
        });
        try
        {
            await bus.PublishAsync("t", 0);
            await started.Task.WaitAsync(Patience);
            await bus.PublishAsync("t", 1).AsTask().WaitAsync(Patience); // fills the queue
            var waiting = bus.PublishAsync("t", 2).AsTask();

            await bus.ShutdownAsync(TimeSpan.FromMilliseconds(100)).WaitAsync(Patience);

            // Refused as any publish after the stop, not left waiting for a queue nobody will read.
            await Assert.ThrowsAsync<InvalidOperationException>(() => waiting.WaitAsync(Patience));
        }
        finally
        {
            gate.TrySetResult();
            await bus.DisposeAsync();
        }
    }

    [Fact]
    public async Task Stats_count_publishes_deliveries_errors_topics_and_subscribers()
    {
        await using var bus = CreateBus();
        Assert.Equal(new EventBusStats(0, 0, 0, 0, 0), bus.Stats);
        using var a = bus.Subscribe("a", (_, _) => ValueTask.CompletedTask);
        using var a2 = bus.Subscribe("a", (e, _) => BusPayload.As<int>(e.Payload) == 2 ? throw new InvalidOperationException("no") : ValueTask.CompletedTask);
        using var b = bus.Subscribe("b", (_, _) => ValueTask.CompletedTask);

        for (var i = 0; i < 3; i++) await bus.PublishAsync("a", i);
        await bus.PublishAsync("b", 0);
        await bus.PublishAsync("c", 0);
        await bus.WaitForIdleAsync().WaitAsync(Patience);

        Assert.Equal(new EventBusStats(Published: 5, Delivered: 7, Errors: 1, Topics: 2, Subscribers: 3), bus.Stats);
    }
}
