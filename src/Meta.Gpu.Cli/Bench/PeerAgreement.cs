using System.Globalization;

namespace Meta.Gpu.Cli.Bench;

/// <summary>
/// Whether a peer's result agrees with the engine's on the same batch (<see cref="EngineResults"/>), so that a
/// ratio never compares a wrong or different computation unnoticed: every value within DESIGN §13's tolerance
/// of the engine's, 1e-4 abs + 1e-4 rel (the backends' agreement tests use the same), NaN only where the engine
/// has NaN too (both mean "no value"), an infinity only where the engine has the same one.
/// </summary>
/// <remarks>
/// A peer row gets <see cref="BenchResult.Agrees"/> (true, false, or null when not checked, with the reason in
/// <see cref="BenchResult.Agreement"/>), the worst absolute and relative differences over every engine backend
/// it was checked against (<see cref="BenchResult.CheckedAgainst"/>), and on a disagreement the first column that
/// differs. The check runs after the timed calls: it costs one more call on each side and times nothing.
/// </remarks>
public static class PeerAgreement
{
    public const double AbsoluteTolerance = 1e-4;

    public const double RelativeTolerance = 1e-4;

    public const string Tolerance = "1e-4 abs + 1e-4 rel of the engine's value (DESIGN §13), NaN only where both are NaN";

    /// <summary>One result against the engine's: whether every column agrees, how many do not, the first that does
    /// not (null when all agree), and the largest differences over the columns where both values are finite. The
    /// relative one is |peer - engine| / (1 + |engine|), the scale of the tolerance itself (1e-4 abs + 1e-4 rel is
    /// 1e-4 x (1 + |engine|)), so finite values agree exactly when it is at most 1e-4; a plain |difference| / |engine|
    /// would make a difference of 1e-7 at a value of 1e-6 look like a tenth.</summary>
    public readonly record struct Comparison(bool Agrees, int Disagreeing, int? FirstDisagreeing, double MaxAbsDiff, double MaxRelDiff);

    /// <summary>Compares <paramref name="peer"/> with <paramref name="engine"/>, column by column (same length).</summary>
    public static Comparison Compare(ReadOnlySpan<float> engine, ReadOnlySpan<float> peer)
    {
        if (engine.Length != peer.Length) throw new ArgumentException($"{peer.Length} values against the engine's {engine.Length}", nameof(peer));
        var disagreeing = 0;
        int? first = null;
        double maxAbs = 0, maxRel = 0;
        for (var c = 0; c < engine.Length; c++)
        {
            double e = engine[c], p = peer[c];
            bool agrees;
            if (!double.IsFinite(e) || !double.IsFinite(p))
            {
                // NaN for NaN is both saying "no value"; an infinity agrees only with the same infinity.
                agrees = (double.IsNaN(e) && double.IsNaN(p)) || (double.IsInfinity(e) && e.Equals(p));
            }
            else
            {
                var diff = Math.Abs(p - e);
                maxAbs = Math.Max(maxAbs, diff);
                maxRel = Math.Max(maxRel, diff / (1 + Math.Abs(e)));
                agrees = diff <= AbsoluteTolerance + RelativeTolerance * Math.Abs(e);
            }
            if (agrees) continue;
            disagreeing++;
            first ??= c;
        }
        return new Comparison(disagreeing == 0, disagreeing, first, maxAbs, maxRel);
    }

    /// <summary>
    /// <paramref name="row"/> (a peer's timed row) with the outcome of checking the peer's result,
    /// <paramref name="times"/>, against each of <paramref name="engine"/> (the engine's results for the workload
    /// at that size).
    /// </summary>
    public static BenchResult Check(BenchResult row, PeerTimes times, IReadOnlyList<(string Backend, float[] Values)> engine)
    {
        ArgumentNullException.ThrowIfNull(row);
        ArgumentNullException.ThrowIfNull(times);
        ArgumentNullException.ThrowIfNull(engine);
        if (times.ResultInvalid is { } invalid)
            return row with { Agrees = false, Agreement = invalid, CheckedAgainst = engine.Count == 0 ? null : Backends(engine) };
        if (engine.Count == 0) return row with { Agreement = "not checked: no engine result for this workload at this size" };
        if (times.Result is not { } result)
            return row with { Agreement = $"not checked: {times.ResultSkipped ?? $"{row.Backend} reported no result"}" };

        var c = CultureInfo.InvariantCulture;
        var agrees = true;
        double? maxAbs = null, maxRel = null;
        string? note = null;
        foreach (var (backend, values) in engine)
        {
            if (values.Length != result.Length)
            {
                agrees = false;
                note ??= string.Create(c, $"{row.Backend}'s result has {result.Length} values where {backend}'s has {values.Length}");
                continue;
            }
            var comparison = Compare(values, result);
            maxAbs = Math.Max(maxAbs ?? 0, comparison.MaxAbsDiff);
            maxRel = Math.Max(maxRel ?? 0, comparison.MaxRelDiff);
            if (comparison.FirstDisagreeing is not { } j) continue;
            agrees = false;
            note ??= string.Create(c,
                $"{comparison.Disagreeing} of {values.Length} columns differ from {backend}'s beyond 1e-4 abs + 1e-4 rel (first: column {j}, {row.Backend} {result[j]:R}, {backend} {values[j]:R})");
        }
        return row with { Agrees = agrees, MaxAbsDiff = maxAbs, MaxRelDiff = maxRel, CheckedAgainst = Backends(engine), Agreement = note };
    }

    private static string Backends(IReadOnlyList<(string Backend, float[] Values)> engine) => string.Join(", ", engine.Select(e => e.Backend));
}
