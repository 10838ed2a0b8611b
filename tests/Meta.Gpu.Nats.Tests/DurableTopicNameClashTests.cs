using System.Text.Json.Nodes;

namespace Meta.Gpu.Nats.Tests;

/// <summary>two valid durable topics of one prefix whose stream names fold together. The second is refused
/// with a message that blames "another prefix" (there is none); it must name the clashing topic.</summary>
public sealed class DurableTopicNameClashTests(NatsServerFixture fixture) : IClassFixture<NatsServerFixture>
{
    [Theory]
    [InlineData("run.loss", "run_loss")]
    [InlineData("Run", "run")]
    public async Task Two_durable_topics_whose_stream_names_fold_together_are_reported_as_a_topic_clash(string first, string second)
    {
        var server = fixture.Require();
        var options = Buses.Options(server) with { DurableTopics = ["*"] };
        await using var bus = await Buses.ConnectAsync(options);
        await bus.PublishAsync(first, new JsonObject { ["x"] = 1 });
        var error = await Assert.ThrowsAsync<InvalidInputException>(async () => await bus.PublishAsync(second, new JsonObject { ["x"] = 2 }));
        Assert.DoesNotContain("another prefix", error.Message, StringComparison.Ordinal);
        Assert.Contains($"'{first}'", error.Message, StringComparison.Ordinal);
        Assert.Contains($"'{second}'", error.Message, StringComparison.Ordinal);
    }
}
