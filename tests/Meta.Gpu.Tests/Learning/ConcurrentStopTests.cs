using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Learning;

/// <summary>A second stop (a <c>DisposeAsync</c> beside an explicit <c>StopAsync</c>) returns only when the first stop's
/// acknowledgements are given: a host tearing the bus down after it returned did so under them.</summary>
public sealed class ConcurrentStopTests
{
    [Fact]
    public async Task A_stop_that_comes_while_the_first_stop_acknowledges_waits_for_it_and_nothing_is_acknowledged_twice()
    {
        await using var bus = new EventBus();
        var agent = new MetaLearningAgent(bus, AgentTestConfig.EveryWindow);
        await agent.StartAsync();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        var acknowledgement = new DeferrableAcknowledgement(async () =>
        {
            Interlocked.Increment(ref calls);
            entered.TrySetResult();
            await release.Task;
        });
        // A refused pack's delivery: held until the stop's save, then acknowledged by the stop.
        DeliveryAcknowledgement.Current = acknowledgement;
        await agent.HandleAsync(new BusEvent(LearningTopics.PolicyPack, JsonNode.Parse(
            """{"domain_id": "a", "sequence": 1, "metrics": {"gain_p50": 0.5, "stability_avg": 0.9}, "controller": {"tau": "nan"}, "evaluator": {}}""")), default);
        DeliveryAcknowledgement.Current = null;
        Assert.True(acknowledgement.Deferred);

        var first = agent.StopAsync();
        await entered.Task;
        // The first stop's save is done and its acknowledgement under way: a second stop has nothing left to wait
        // for but that acknowledgement.
        var second = agent.StopAsync();
        Assert.False(second.IsCompleted, "the second stop returned while the first stop's acknowledgement was still being given");

        release.SetResult();
        await Task.WhenAll(first, second);
        Assert.Equal(1, calls);
        await agent.DisposeAsync();
        Assert.Equal(1, calls);
    }
}
