using System.Text.Json.Nodes;

namespace Meta.Gpu.Nats.Tests;

/// <summary>A dense update's message id is <c>domain_id:sequence</c> with the sequence exact, whatever numeric type
/// an in-process payload holds it in: read through a double, two sequences past 2^53 that differ by one made one id,
/// and the stream dropped the newer update as a duplicate of the older.</summary>
public sealed class DenseLargeSequenceTests
{
    public static TheoryData<string> Types => ["ulong", "decimal"];

    [Theory]
    [MemberData(nameof(Types))]
    public async Task Two_dense_updates_whose_sequences_differ_by_one_past_2_to_the_53_are_both_stored(string type)
    {
        await using var server = await NatsServer.StartAsync();
        await using var domain = await Buses.ConnectAsync(Buses.Options(server));
        const long Base = (1L << 60) + 1;
        foreach (var sequence in new[] { Base, Base + 1, Base + 1 })
        {
            var update = Buses.DenseUpdate("site-1", 0, 1f, d: 64);
            update["sequence"] = type == "ulong" ? JsonValue.Create((ulong)sequence) : JsonValue.Create((decimal)sequence);
            await domain.PublishAsync("federation.dense_update", update);
        }
        await domain.WaitForIdleAsync().WaitAsync(Buses.Patience);

        // Only the third, a retry of the second, is a duplicate.
        Assert.Equal(1, domain.NatsStats.DuplicatesSuppressed);
    }
}
