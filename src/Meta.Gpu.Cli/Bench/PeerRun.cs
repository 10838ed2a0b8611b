namespace Meta.Gpu.Cli.Bench;

/// <summary>What one peer reported for one size: per workload its call times, or why it was skipped.</summary>
public sealed record PeerRun(string Peer, string? Skipped, string? Version, string? Device, IReadOnlyDictionary<string, PeerTimes> Results)
{
    /// <summary>The library the script could not import (another interpreter may have it).</summary>
    public string? MissingModule { get; init; }

    /// <summary>The peer's own read stream over its resident batch, GB/s (the PyTorch peer's <c>x.sum()</c>); null when it reported none.</summary>
    public double? ReadGbs { get; init; }

    /// <summary>The peer's device copy of its batch, bytes read + written per second in GB/s; null when it reported none.</summary>
    public double? CopyGbs { get; init; }

    /// <summary>The size of the array those figures streamed, MB (2^20 bytes).</summary>
    public double? ReadMegabytes { get; init; }

    /// <summary>Why the peer's own bandwidth figures are missing, when it said (its times still stand).</summary>
    public string? BandwidthSkipped { get; init; }

    public static PeerRun Skip(string peer, string reason) => new(peer, reason, null, null, new Dictionary<string, PeerTimes>());
}

/// <summary>A peer's timed calls of one workload (milliseconds), or the reason it has none; and its result, made by
/// one more call after them, for <see cref="PeerAgreement"/>.</summary>
public sealed record PeerTimes(IReadOnlyList<double> TimesMs, string? Skipped)
{
    /// <summary>The result of one call from the original prior (D values: the aggregate or the stepped prior); null
    /// when the peer gave none.</summary>
    public float[]? Result { get; init; }

    /// <summary>Why there is no <see cref="Result"/>, when the peer said (the row is then not checked).</summary>
    public string? ResultSkipped { get; init; }

    /// <summary>A result that cannot be right (the wrong number of values): reported as a disagreement.</summary>
    public string? ResultInvalid { get; init; }
}
