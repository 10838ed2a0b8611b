using System.Text.Json.Nodes;
using Meta.Gpu.Nats.Dense;
using Meta.Gpu.Storage;

namespace Meta.Gpu.Nats.Tests;

/// <summary>
/// A dense message travels inline up to <see cref="NatsEventBus.InlineLimitBytes"/> ("largest dense message sent
/// inline, in bytes": the option, or the server's max payload less 64 KiB of room for headers and the envelope, never
/// below 1024), and through the object store beyond it (README: dense vectors over the server's max payload).
/// </summary>
public sealed class DenseInlineLimitTests(NatsServerFixture fixture) : IClassFixture<NatsServerFixture>
{
    private const string Dense = "federation.dense_update";

    private static JsonObject Update(float[] vector) => new()
    {
        ["domain_id"] = "site-1",
        ["sequence"] = 1,
        ["confidence"] = 1.0,
        ["vector"] = JsonValue.Create(vector),
    };

    /// <summary>The inline message's size: the frame of the envelope and the §11 record of the vector.</summary>
    private static int InlineBytes(JsonObject update, float[] vector) =>
        DensePayload.FrameInline(DensePayload.Split(update, Dense).Envelope, DensePriorFile.ToBytes(vector, 1)).Length;

    [Theory]
    [InlineData(0, 0)]
    [InlineData(-1, 1)]
    public async Task A_message_of_exactly_the_limit_travels_inline_and_one_byte_more_through_the_object_store(int limitOffset, long objectsPut)
    {
        var vector = Enumerable.Range(0, 1024).Select(i => (float)i).ToArray();
        var update = Update(vector);
        var limit = InlineBytes(update, vector) + limitOffset;
        await using var bus = await Buses.ConnectAsync(Buses.Options(fixture.Require()) with { InlineLimitBytes = limit });
        Assert.Equal(limit, bus.InlineLimitBytes);

        await bus.PublishAsync(Dense, update);
        await bus.WaitForIdleAsync().WaitAsync(Buses.Patience);

        Assert.Equal(objectsPut, bus.NatsStats.ObjectsPut);
    }

    [Fact]
    public async Task Without_the_option_the_limit_is_the_servers_max_payload_less_64_KiB()
    {
        await using var bus = await Buses.ConnectAsync(Buses.Options(fixture.Require()));

        Assert.Equal(1024 * 1024, bus.Connection.ServerInfo!.MaxPayload);
        Assert.Equal(1024 * 1024 - 64 * 1024, bus.InlineLimitBytes);
    }

    [Fact]
    public async Task Under_a_max_payload_of_64_KiB_the_limit_is_1024_bytes_and_a_small_vector_still_travels_inline()
    {
        await using var server = await NatsServer.StartAsync(maxPayload: 64 * 1024);
        await using var bus = await Buses.ConnectAsync(Buses.Options(server));
        Assert.Equal(1024, bus.InlineLimitBytes);

        await bus.PublishAsync(Dense, Update([1f, 2f, 3f]));
        await bus.WaitForIdleAsync().WaitAsync(Buses.Patience);

        Assert.Equal(0, bus.NatsStats.ObjectsPut);
    }
}
