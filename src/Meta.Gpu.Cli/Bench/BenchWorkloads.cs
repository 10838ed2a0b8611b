namespace Meta.Gpu.Cli.Bench;

/// <summary>The workload names of <c>meta-gpu bench</c> (DESIGN §15).</summary>
public static class BenchWorkloads
{
    public const string WeightedMean = "weighted_mean";
    public const string ReptileStep = "reptile_step";
    public const string TrimmedMean = "trimmed_mean";
    public const string Median = "median";
    public const string WeightedMedian = "weighted_median";
    public const string FusedTrimmedMeanReptile = "fused_trimmed_mean_reptile";
    public const string GovernanceUpdate = "governance_update";
    public const string BusDelivery = "bus_delivery";
    public const string AgentRound = "agent_round";

    /// <summary>Every workload, in report order.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        WeightedMean, ReptileStep, TrimmedMean, Median, WeightedMedian, FusedTrimmedMeanReptile, GovernanceUpdate, BusDelivery, AgentRound,
    ];

    /// <summary>The dense workloads over an N x D batch: they have an effective bandwidth and run on every backend.</summary>
    public static IReadOnlyList<string> Dense { get; } =
        [WeightedMean, ReptileStep, TrimmedMean, Median, WeightedMedian, FusedTrimmedMeanReptile];

    /// <summary>The dense workloads the peers implement (no peer has a weighted median).</summary>
    public static IReadOnlyList<string> PeerDense { get; } =
        [WeightedMean, ReptileStep, TrimmedMean, Median, FusedTrimmedMeanReptile];

    public static bool IsDense(string workload) => Dense.Contains(workload);
}
