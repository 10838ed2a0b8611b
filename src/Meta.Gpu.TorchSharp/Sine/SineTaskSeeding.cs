namespace Meta.Gpu.TorchSharp.Sine;

/// <summary>How the demo draws each meta-round's training tasks.</summary>
public enum SineTaskSeeding
{
    /// <summary>One random stream (seed + 1) for every round and domain, in order: the in-process demo's
    /// default, whose published figures depend on it.</summary>
    Sequential,

    /// <summary>Each (seed, domain id, round) has its own stream (<see cref="SineRoundTasks"/>): what separate
    /// domain processes can draw without talking to each other, so a run over a broker and one in process see the
    /// same tasks.</summary>
    PerDomainRound,
}
