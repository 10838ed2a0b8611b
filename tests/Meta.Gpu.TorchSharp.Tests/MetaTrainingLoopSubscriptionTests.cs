using Meta.Gpu.Runtime;
using static TorchSharp.torch;

namespace Meta.Gpu.TorchSharp.Tests;

/// <summary>A <see cref="MetaTrainingLoop"/> whose bus refuses one of its subscriptions is not made, and leaves no
/// subscription behind: the one it had taken went on delivering to a loop nobody held.</summary>
public sealed class MetaTrainingLoopSubscriptionTests
{
    [Fact]
    public void A_refused_subscription_leaves_none_of_the_loops_subscriptions_behind()
    {
        manual_seed(3);
        using var model = nn.Linear(2, 1);
        var bus = new SecondSubscriptionRefused();

        Assert.Throws<InvalidOperationException>(() => new MetaTrainingLoop(model, new WeightedMeanReptileStep(), bus: bus));

        Assert.Equal(1, bus.Taken);
        Assert.Equal(0, bus.Live);
    }

    /// <summary>A bus that takes one subscription and refuses the next, counting the ones still live.</summary>
    private sealed class SecondSubscriptionRefused : IEventBus
    {
        public int Taken { get; private set; }

        public int Live { get; private set; }

        public IDisposable Subscribe(string topic, Func<BusEvent, CancellationToken, ValueTask> handler)
        {
            if (Taken == 1) throw new InvalidOperationException("the bus refuses a second subscription");
            Taken++;
            Live++;
            return new Subscription(this);
        }

        public ValueTask PublishAsync(string topic, object? payload, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public EventBusStats Stats => new(0, 0, 0, 0, 0);

        public Task WaitForIdleAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task ShutdownAsync(TimeSpan timeout) => Task.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        private sealed class Subscription(SecondSubscriptionRefused bus) : IDisposable
        {
            private bool _disposed;

            public void Dispose()
            {
                if (_disposed) return;
                _disposed = true;
                bus.Live--;
            }
        }
    }
}
