using System.Security.Cryptography;
using System.Text;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Nats.Tests;

/// <summary>The lane takes domain ids up to 64 KiB; a large vector of a domain whose id is a few thousand bytes long
/// must still go through the object store (its object's name is not the broker's business).</summary>
public sealed class DenseLongDomainIdTests
{
    [Fact]
    public async Task A_large_vector_of_a_domain_with_a_5000_character_id_is_published_and_delivered()
    {
        await using var server = await NatsServer.StartAsync();
        var options = Buses.Options(server) with { InlineLimitBytes = 1024, PublishTimeout = TimeSpan.FromSeconds(10) };
        await using var domain = await Buses.ConnectAsync(options);
        await using var aggregator = await Buses.ConnectAsync(options);
        var got = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var _ = aggregator.Subscribe("federation.dense_update", (e, _) =>
        {
            got.TrySetResult(BusPayload.AsObject(e.Payload, e.Topic)["domain_id"]!.GetValue<string>());
            return ValueTask.CompletedTask;
        });
        await aggregator.WhenSubscribedAsync();
        var id = "site-" + new string('x', 5000);

        await domain.PublishAsync("federation.dense_update", Buses.DenseUpdate(id, 1, 3f));

        Assert.Equal(id, await got.Task.WaitAsync(Buses.Patience));
        Assert.Equal(1, domain.NatsStats.ObjectsPut);
        Assert.Equal(0, domain.NatsStats.Reconnects);
    }

    [Theory]
    [InlineData(256, false)]
    [InlineData(257, true)]
    public async Task A_message_id_of_up_to_256_bytes_names_its_object_as_it_is_and_a_longer_one_by_its_SHA_256(int idBytes, bool hashed)
    {
        await using var server = await NatsServer.StartAsync();
        var options = Buses.Options(server) with { InlineLimitBytes = 1024 };
        await using var domain = await Buses.ConnectAsync(options);
        var id = "site-" + new string('x', idBytes - "site-".Length - ":1".Length);
        var messageId = id + ":1";
        Assert.Equal(idBytes, Encoding.UTF8.GetByteCount(messageId));

        await domain.PublishAsync("federation.dense_update", Buses.DenseUpdate(id, 1, 3f));
        await domain.WaitForIdleAsync().WaitAsync(Buses.Patience);

        var key = hashed ? "sha256-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(messageId))) : messageId;
        Assert.Equal([$"{options.SubjectPrefix}/federation.dense_update/{key}"], await Buses.ObjectNamesAsync(domain));
    }
}
