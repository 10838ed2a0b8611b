using Meta.Gpu.Nats;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Meta.Gpu.TorchSharp.Tests.Bus;

/// <summary>What the broker holds for a prefix: the durable consumers of a topic's stream, asked directly.</summary>
internal static class BrokerConsumers
{
    /// <summary>The names of the consumers of <paramref name="topic"/>'s stream under <paramref name="prefix"/>.</summary>
    public static async Task<List<string>> NamesAsync(string url, string prefix, string topic = "federation.dense_update")
    {
        await using var connection = new NatsConnection(new NatsOpts { Url = url });
        var names = new List<string>();
        await foreach (var name in new NatsJSContext(connection).ListConsumerNamesAsync(NatsSubjects.StreamName(prefix, topic)))
            names.Add(name);
        return names;
    }
}
