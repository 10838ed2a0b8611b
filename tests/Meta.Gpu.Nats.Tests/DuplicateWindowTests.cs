using Meta.Gpu.Learning;

namespace Meta.Gpu.Nats.Tests;

/// <summary>
/// A durable publish is sent again while the broker is away, for up to <see cref="NatsBusOptions.PublishTimeout"/>;
/// the stream stores a resend once only within its duplicate window. A fixed window of two minutes under a longer
/// publish timeout stored a late resend a second time (review).
/// </summary>
public sealed class DuplicateWindowTests(NatsServerFixture fixture) : IClassFixture<NatsServerFixture>
{
    [Theory]
    [InlineData(30, 120)]
    [InlineData(300, 300)]
    public async Task A_stream_this_bus_creates_recognises_resends_for_as_long_as_it_sends_them(int publishTimeoutS, int expectedWindowS)
    {
        var options = Buses.Options(fixture.Require()) with { PublishTimeout = TimeSpan.FromSeconds(publishTimeoutS) };
        await using var bus = await Buses.ConnectAsync(options);

        await bus.PublishAsync(LearningTopics.PolicyPack, Buses.PolicyPack("d1", 1));
        await bus.WaitForIdleAsync().WaitAsync(Buses.Patience);

        var stream = await bus.JetStream.GetStreamAsync(NatsSubjects.StreamName(options.SubjectPrefix, LearningTopics.PolicyPack));
        Assert.Equal(TimeSpan.FromSeconds(expectedWindowS), stream.Info.Config.DuplicateWindow);
    }
}
