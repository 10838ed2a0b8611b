using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Cli.Bench;

/// <summary>
/// The engine's results at one size that the peers' results are checked against (<see cref="PeerAgreement"/>):
/// per workload, one result from each engine backend timed at that size, made after its timed calls by one more
/// round on the same batch from the original prior (the timed calls stepped their prior again and again, as
/// rounds do; the peers' checked call starts from the same original prior).
/// </summary>
/// <remarks>
/// The result is of the computation the peers perform, which is the timed one except in one documented place:
/// the peers' trimmed mean (and the fused round's) is uniform over the kept rows where the engine weights them by
/// confidence, so under confidence weights the engine's result for those two workloads is its trimmed mean with
/// <c>weighting=uniform</c>. With <c>--equal-weights</c> every result is the timed configuration's own.
/// </remarks>
public sealed class EngineResults
{
    private readonly Dictionary<string, List<(string Backend, float[] Values)>> _results = new(StringComparer.Ordinal);

    /// <summary>The weighting of the engine's result for <paramref name="workload"/>: the peers' definition.</summary>
    public static DomainWeighting PeerWeighting(string workload, BenchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return workload is BenchWorkloads.TrimmedMean or BenchWorkloads.FusedTrimmedMeanReptile && !options.EqualWeights
            ? DomainWeighting.Uniform
            : DomainWeighting.Confidence;
    }

    /// <summary>One round of <paramref name="workload"/> on <paramref name="backend"/> from the original prior, under
    /// the peers' weighting (<see cref="PeerWeighting"/>): the aggregate, or the stepped prior.</summary>
    public static float[] Compute(string workload, IComputeBackend backend, BenchData data, BenchOptions options)
    {
        var round = new DenseWorkload(workload, backend, data, options, PeerWeighting(workload, options));
        round.Run();
        return round.Output.ToArray();
    }

    public void Add(string workload, string backend, float[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (!_results.TryGetValue(workload, out var list)) _results[workload] = list = [];
        list.Add((backend, values));
    }

    /// <summary>The engine's results for <paramref name="workload"/>, one per backend, in the order they ran.</summary>
    public IReadOnlyList<(string Backend, float[] Values)> For(string workload) =>
        _results.TryGetValue(workload, out var list) ? list : [];
}
