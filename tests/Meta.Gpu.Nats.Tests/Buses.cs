using System.Text.Json.Nodes;
using Meta.Gpu.Runtime;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Nats.Tests;

/// <summary>Buses on a test server, each with a prefix of its own so tests never see each other's subjects.</summary>
internal static class Buses
{
    public static NatsBusOptions Options(NatsServer server, string? prefix = null) => new()
    {
        Url = server.Url,
        SubjectPrefix = prefix ?? "t" + Guid.NewGuid().ToString("N")[..12],
        // The product's: a loaded machine's stall longer than a short wait made the broker deliver again messages
        // that tests count once (four-publisher order, pipelined publishes). Tests of a crash use CrashAckWait.
        AckWait = TimeSpan.FromSeconds(30),
        // Generous: the test servers are local, but CI runs the test projects side by side on 2 cores.
        ConnectTimeout = TimeSpan.FromSeconds(10),
    };

    /// <summary>The ack wait of tests of what a crashed process leaves: the broker redelivers its messages after
    /// this long.</summary>
    public static TimeSpan CrashAckWait { get; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a bus test waits for deliveries through the broker before it fails.</summary>
    public static TimeSpan Patience { get; } = TimeSpan.FromSeconds(60);

    public static Task<NatsEventBus> ConnectAsync(NatsBusOptions options) => NatsEventBus.ConnectAsync(options);

    /// <summary>The names of the objects in the bus's bucket of large vectors.</summary>
    public static async Task<List<string>> ObjectNamesAsync(NatsEventBus bus)
    {
        var store = await bus.ObjectStoreAsync(CancellationToken.None);
        // A listing is a watch that ends when the broker says the initial set is done; one that never ended held a
        // whole test run (CI, twice in the fortieth session, in a test whose objects were being deleted meanwhile).
        // Each try is bounded and the listing asked again.
        for (var attempt = 1; ; attempt++)
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            var names = new List<string>();
            try
            {
                await foreach (var info in store.ListAsync(cancellationToken: limit.Token)) names.Add(info.Name);
                return names;
            }
            catch (OperationCanceledException) when (limit.IsCancellationRequested && attempt < 4)
            {
            }
        }
    }

    /// <summary>A dense update of <paramref name="d"/> copies of <paramref name="value"/>, confidence 1 (4096 floats
    /// travel as an object where the inline limit is 1024 bytes).</summary>
    public static JsonObject DenseUpdate(string domain, long sequence, float value, int d = 4096)
    {
        var vector = new float[d];
        Array.Fill(vector, value);
        return new JsonObject { ["domain_id"] = domain, ["sequence"] = sequence, ["confidence"] = 1.0, ["vector"] = JsonValue.Create(vector) };
    }

    /// <summary>A policy pack the learning agent takes in as pending (with a validator's min_confidence of 0.05).</summary>
    public static JsonObject PolicyPack(string domain, long sequence) => new()
    {
        ["domain_id"] = domain,
        ["sequence"] = sequence,
        ["metrics"] = new JsonObject { ["gain_p50"] = 0.5, ["stability_avg"] = 0.9 },
        ["controller"] = new JsonObject { ["tau"] = 1.0 },
    };

    /// <summary>The vector of a received dense update.</summary>
    public static float[] ReceivedVector(BusEvent e) => BusPayload.AsObject(e.Payload, e.Topic)["vector"]!.GetValue<float[]>();
}

/// <summary>What the agent does with domain work (DESIGN §10): apply a (domain, sequence) only when the
/// sequence is newer than the last one applied for that domain, and remember it before returning (the bus
/// acknowledges after the handler returns).</summary>
internal sealed class AppliedLedger
{
    private readonly Dictionary<string, long> _last = new(StringComparer.Ordinal);
    private readonly List<(string Domain, long Sequence)> _applied = [];
    private readonly Lock _gate = new();

    public int Ignored { get; private set; }

    public bool Apply(string domain, long sequence)
    {
        lock (_gate)
        {
            if (_last.TryGetValue(domain, out var last) && sequence <= last)
            {
                Ignored++;
                return false;
            }
            _last[domain] = sequence;
            _applied.Add((domain, sequence));
            return true;
        }
    }

    public IReadOnlyList<(string Domain, long Sequence)> Applied
    {
        get { lock (_gate) return [.. _applied]; }
    }
}
