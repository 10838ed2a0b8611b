namespace Meta.Gpu.Governance;

/// <summary>The tags of a policy update's <c>reason</c> (DESIGN §5 step 6), as flags.</summary>
[Flags]
public enum PolicyReasons
{
    /// <summary>No tag: the reason reads "steady".</summary>
    None = 0,

    /// <summary><c>low_accept</c>: accept below accept_low (whether or not exploration fired).</summary>
    LowAccept = 1,

    /// <summary><c>latency_high</c>: under load, from latency or device memory.</summary>
    LatencyHigh = 2,

    /// <summary><c>oom</c>: the engine reported an out-of-memory.</summary>
    Oom = 4,

    /// <summary><c>rollback</c>: the safety step restored earlier knob values.</summary>
    Rollback = 8,
}

/// <summary>The <c>reason</c> strings, precomputed for all 16 tag combinations so that an update never
/// builds a string.</summary>
public static class PolicyReasonText
{
    private static readonly string[] Texts = Build();

    /// <summary>The tags joined by " + " in the order low_accept, latency_high, oom, rollback; "steady" for none.</summary>
    public static string Of(PolicyReasons reasons) => Texts[(int)reasons & 15];

    private static string[] Build()
    {
        var texts = new string[16];
        string[] names = ["low_accept", "latency_high", "oom", "rollback"];
        for (var flags = 0; flags < 16; flags++)
        {
            var tags = new List<string>(4);
            for (var bit = 0; bit < 4; bit++)
                if ((flags & (1 << bit)) != 0) tags.Add(names[bit]);
            texts[flags] = tags.Count == 0 ? "steady" : string.Join(" + ", tags);
        }
        return texts;
    }
}
