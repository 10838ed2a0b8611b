using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;

namespace Meta.Gpu.Tests.Learning;

/// <summary>Two deliveries held as one are two messages with the broker: each is given even when the other fails,
/// and what failed is thrown, both failures when both fail (the agent logs it).</summary>
public sealed class JointAcknowledgementTests
{
    private sealed class Recorded(string name, List<string> given, bool throws) : IDeliveryAcknowledgement
    {
        public ValueTask AcknowledgeAsync()
        {
            if (throws) throw new InvalidOperationException($"{name} failed");
            given.Add(name);
            return ValueTask.CompletedTask;
        }
    }

    [Fact]
    public async Task Both_failing_throw_both_failures()
    {
        var given = new List<string>();
        var joint = JointAcknowledgement.Of(new Recorded("first", given, throws: true), new Recorded("second", given, throws: true))!;

        var error = await Assert.ThrowsAsync<AggregateException>(async () => await joint.AcknowledgeAsync());

        Assert.Equal(["first failed", "second failed"], error.InnerExceptions.Select(e => e.Message));
        Assert.Empty(given);
    }

    [Fact]
    public async Task A_failing_first_still_gives_the_second_then_throws_its_failure()
    {
        var given = new List<string>();
        var joint = JointAcknowledgement.Of(new Recorded("first", given, throws: true), new Recorded("second", given, throws: false))!;

        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await joint.AcknowledgeAsync());

        Assert.Equal("first failed", error.Message);
        Assert.Equal(["second"], given);
    }
}
