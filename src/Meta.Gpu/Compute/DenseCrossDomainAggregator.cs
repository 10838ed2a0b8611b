using System.Buffers;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Compute;

/// <summary>
/// Cross-domain aggregation over a <see cref="DomainBatch"/> (DESIGN §4, dense form): eligibility from the
/// backend's row scan (decided on the host), the single outlier pass (medians and distances on the backend, the
/// decision by <see cref="OutlierRule"/> on the host; where the flags hang on the last bits of the backend's sums,
/// on <see cref="ReferenceOrderDistances"/> instead), weights and <see cref="DiversityBalancing"/> on the host in
/// float64, and the column combine on the backend, optionally fused with the Reptile step on a dense prior.
/// </summary>
/// <remarks>
/// Decisions follow the keyed reference: a row with no present cell is <c>rejected_empty</c>, only present cells
/// are checked for non-finite values, eligibility rules are applied in the order empty, non-finite, confidence.
/// With <c>missing_keys=zero</c> a column counts as sent when some row of the pass sent it (the key union), and
/// then its absent cells are 0. With no eligible row the aggregate is all NaN, every column is flagged and the
/// prior is not touched (the keyed reference's empty result).
/// Reading the batch once: where no row can be empty (no mask) and the backend notices non-finite cells in its
/// combine (<see cref="IComputeBackend.CanCombineUnscanned"/>), the round skips the scan of the rows whose
/// confidence passes, which would read them once more; only the rows below the minimum confidence are scanned.
/// A non-finite cell met on the way (a non-finite outlier distance, or the combine's signal) sends the round back
/// to the scan with the prior restored, so the results and the meta are always the scanned round's; such a round
/// costs at most one read of the batch more than a scanned round.
/// </remarks>
public sealed class DenseCrossDomainAggregator
{
    public DenseCrossDomainAggregator(IComputeBackend backend, CrossMetaConfig? config = null)
    {
        Backend = backend ?? throw new ArgumentNullException(nameof(backend));
        Config = (config ?? CrossMetaConfig.Default).Validated();
    }

    public IComputeBackend Backend { get; }

    public CrossMetaConfig Config { get; }

    /// <summary>Aggregates into a new D-long array.</summary>
    public DenseAggregationResult Aggregate(DomainBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var aggregate = new float[batch.Columns];
        return Run(batch, aggregate, aggregate, default, null, null, null);
    }

    /// <summary>Aggregates into <paramref name="aggregate"/> (D long); the result's Aggregate is null.</summary>
    public DenseAggregationResult Aggregate(DomainBatch batch, Span<float> aggregate)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (aggregate.Length != batch.Columns) throw new ArgumentException($"aggregate must be {batch.Columns} long", nameof(aggregate));
        return Run(batch, null, aggregate, default, null, null, null);
    }

    /// <summary>
    /// Aggregates and takes the Reptile <paramref name="step"/> on <paramref name="prior"/> in the same pass over
    /// the matrix; the aggregate is written only when <paramref name="aggregate"/> is given (D long).
    /// </summary>
    public DenseAggregationResult AggregateAndStep(DomainBatch batch, Span<float> prior, ReptileStep step, Span<float> aggregate = default) =>
        RunStep(batch, prior, null, step, aggregate);

    /// <summary>
    /// <see cref="AggregateAndStep(DomainBatch, Span{float}, ReptileStep, Span{float})"/> on a prior a device backend
    /// may keep on its device from round to round (uploading it again only after <see cref="ResidentPrior.MarkChanged"/>).
    /// </summary>
    public DenseAggregationResult AggregateAndStep(DomainBatch batch, ResidentPrior prior, ReptileStep step, Span<float> aggregate = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(prior);
        return RunStep(batch, prior.Values, prior, step, aggregate);
    }

    /// <summary>
    /// One dense round of the optimizer (DESIGN §8, §10): when some domain takes part, the optimizer adjusts beta
    /// from <paramref name="drg"/> and saves a rollback copy, the prior steps in the same pass as the combine, and
    /// the reward EMA is updated. With no participant nothing changes (an empty aggregate ends the round).
    /// </summary>
    /// <exception cref="InvalidInputException">The reward is not finite; nothing changes.</exception>
    public DenseAggregationResult AggregateInto(DomainBatch batch, DenseReptileOptimizer optimizer, double reward, DrgFlags drg, Span<float> aggregate = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(optimizer);
        if (optimizer.Columns != batch.Columns) throw new ArgumentException($"the optimizer's prior has {optimizer.Columns} values, the batch {batch.Columns}", nameof(optimizer));
        CheckOptionalAggregate(batch, aggregate);
        DenseReptileOptimizer.CheckReward(reward);
        return Run(batch, null, aggregate, optimizer.Prior, optimizer.ResidentPrior, null, (optimizer, reward, drg));
    }

    /// <summary>Both <c>AggregateAndStep</c> overloads: the argument checks, then the round.</summary>
    private DenseAggregationResult RunStep(DomainBatch batch, Span<float> prior, ResidentPrior? resident, ReptileStep step, Span<float> aggregate)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (prior.Length != batch.Columns) throw new ArgumentException($"prior must be {batch.Columns} long", nameof(prior));
        CheckOptionalAggregate(batch, aggregate);
        return Run(batch, null, aggregate, prior, resident, step, null);
    }

    /// <summary>A step's aggregate is optional: empty, or one value per column.</summary>
    private static void CheckOptionalAggregate(DomainBatch batch, Span<float> aggregate)
    {
        if (!aggregate.IsEmpty && aggregate.Length != batch.Columns) throw new ArgumentException($"aggregate must be empty or {batch.Columns} long", nameof(aggregate));
    }

    /// <summary>One round; <paramref name="resident"/>, when given, is the prior whose values <paramref name="prior"/> spans.</summary>
    private DenseAggregationResult Run(
        DomainBatch batch, float[]? owned, Span<float> aggregate, Span<float> prior, ResidentPrior? resident, ReptileStep? step,
        (DenseReptileOptimizer Optimizer, double Reward, DrgFlags Drg)? round)
    {
        // The ids are the caller's array: a null one came out as a nameless outlier ("outliers": [null]) where the
        // keyed reference refuses an update without a domain id.
        var missingId = Array.IndexOf(batch.Ids, null);
        if (missingId >= 0) throw new ArgumentException($"Ids[{missingId}] is null: every row needs a domain id", nameof(batch));
        if (ReadOnceEligibility(batch, step, round) is { } guess)
        {
            var once = Finish(batch, guess, unscanned: true, owned, aggregate, prior, resident, step, round);
            if (once is not null) return once;
        }
        return Finish(batch, Classify(batch), unscanned: false, owned, aggregate, prior, resident, step, round)!;
    }

    /// <summary>Rows from which a copy of a caller's prior costs less than the row scan it saves.</summary>
    private const int MinRowsForPriorCopy = 4;

    /// <summary>
    /// Step 1 for a round that reads the batch once, or null where it may not: no mask (no row is empty), a
    /// backend that notices a non-finite cell in its combine, and a prior that is cheap to restore should the
    /// guess fail. The rows whose confidence passes are guessed eligible (the combine checks their cells); the
    /// others are scanned alone, since a non-finite one counts as non-finite rather than low confidence.
    /// </summary>
    private Eligibility? ReadOnceEligibility(DomainBatch batch, ReptileStep? step, (DenseReptileOptimizer Optimizer, double Reward, DrgFlags Drg)? round)
    {
        if (batch.Mask is not null || batch.Rows == 0 || !Backend.CanCombineUnscanned(batch, Config.Method)) return null;
        // A step on a caller's prior needs a copy of it for a redo: D floats read and written, which only pays
        // where the scan it saves reads several rows. The optimizer's own rollback copy serves its rounds, and a
        // backend that steps the prior atomically needs none.
        if (step is not null && round is null && batch.Rows < MinRowsForPriorCopy && !Backend.StepsPriorAtomically) return null;
        var guessed = new List<int>(batch.Rows);
        List<int>? doubtful = null;
        for (var i = 0; i < batch.Rows; i++)
        {
            if (EligibilityRule.Classify(batch.Columns, false, batch.Confidences[i], Config.MinConfidence) == UpdateEligibility.Eligible) guessed.Add(i);
            else (doubtful ??= []).Add(i);
        }
        int nonFinite = 0, lowConfidence = 0;
        if (doubtful is not null)
        {
            var rows = doubtful.ToArray();
            var scans = new RowScan[rows.Length];
            Backend.ScanRows(batch, rows, scans);
            for (var j = 0; j < rows.Length; j++)
            {
                var rule = EligibilityRule.Classify(scans[j].PresentCells, scans[j].HasNonFinite, batch.Confidences[rows[j]], Config.MinConfidence);
                if (rule == UpdateEligibility.NonFinite) nonFinite++;
                else lowConfidence++;
            }
        }
        return new Eligibility(guessed, 0, nonFinite, lowConfidence);
    }

    /// <summary>Step 1 from the backend's row scan: each row counted under the first rule it breaks.</summary>
    private Eligibility Classify(DomainBatch batch)
    {
        var n = batch.Rows;
        var scans = new RowScan[n];
        Backend.ScanRows(batch, scans);
        int empty = 0, nonFinite = 0, lowConfidence = 0;
        var eligible = new List<int>(n);
        for (var i = 0; i < n; i++)
        {
            switch (EligibilityRule.Classify(scans[i].PresentCells, scans[i].HasNonFinite, batch.Confidences[i], Config.MinConfidence))
            {
                case UpdateEligibility.Empty: empty++; break;
                case UpdateEligibility.NonFinite: nonFinite++; break;
                case UpdateEligibility.LowConfidence: lowConfidence++; break;
                default: eligible.Add(i); break;
            }
        }
        return new Eligibility(eligible, empty, nonFinite, lowConfidence);
    }

    /// <summary>
    /// Steps 3-6 on the eligible rows. <paramref name="unscanned"/>: the rows were not scanned, so a non-finite
    /// distance or a non-finite cell met by the combine means the guess failed; then the prior is restored and
    /// the result is null.
    /// </summary>
    private DenseAggregationResult? Finish(
        DomainBatch batch, Eligibility eligibility, bool unscanned, float[]? owned, Span<float> aggregate, Span<float> prior,
        ResidentPrior? resident, ReptileStep? step, (DenseReptileOptimizer Optimizer, double Reward, DrgFlags Drg)? round)
    {
        var config = Config;
        var zero = config.MissingKeys == MissingKeys.Zero;
        var eligible = eligibility.Rows;
        if (eligible.Count == 0)
        {
            if (!aggregate.IsEmpty) aggregate.Fill(float.NaN);
            var all = Enumerable.Range(0, batch.Columns).ToArray();
            return new DenseAggregationResult(owned, batch.Columns, all,
                AggregationMeta.Empty(config, eligibility.LowConfidence, eligibility.NonFinite, eligibility.Empty), RanOn());
        }

        // Step 3: the single outlier pass.
        var kept = eligible;
        var outliers = new List<string>();
        if (config.OutlierFilter && eligible.Count >= config.OutlierMinDomains)
        {
            var rows = eligible.ToArray();
            var distances = new double[rows.Length];
            // The medians only lead to the distances: none are asked back (D float64 values to allocate, or to
            // download from a device, and drop).
            Backend.MediansAndDistances(batch, rows, zero, Span<double>.Empty, distances);
            // A non-finite cell makes its row's distance non-finite (or, through its column's median, every row's).
            if (unscanned && !distances.All(double.IsFinite)) return null;
            if (!OutlierRule.IsSettled(distances, config.OutlierZ, ReferenceOrderDistances.RelativeError(batch.Columns)))
            {
                // The flags hang on the last bits of the sums (distances tied, or a MAD of 0 that leaves the
                // threshold a hair above the median): take the reference's sums, so the flags are its flags.
                var medians = new double[batch.Columns];
                Backend.ColumnMedians(batch, rows, zero, medians);
                ReferenceOrderDistances.Compute(batch, rows, zero, medians, distances);
            }
            var dropped = new bool[rows.Length];
            if (OutlierRule.Flag(distances, config.OutlierZ, dropped) > 0)
            {
                kept = new List<int>(rows.Length);
                for (var j = 0; j < rows.Length; j++)
                {
                    if (dropped[j]) outliers.Add(batch.Ids[rows[j]]);
                    else kept.Add(rows[j]);
                }
            }
        }

        // Steps 4-5: weights over the kept rows, then diversity balancing.
        var keptRows = kept.ToArray();
        var raw = new double[keptRows.Length];
        var confidences = new double[keptRows.Length];
        for (var j = 0; j < keptRows.Length; j++)
        {
            var confidence = batch.Confidences[keptRows[j]];
            confidences[j] = confidence;
            raw[j] = config.Weighting == DomainWeighting.Confidence ? confidence : 1.0;
        }
        var p = new double[keptRows.Length];
        var balanced = DiversityBalancing.Balance(raw, config.DiversityEntropyTarget, p);

        // Step 6 (+ the Reptile step in the same pass).
        if (round is var (optimizer, _, drg)) step = optimizer.BeginStep(drg);
        int emptyCount;
        try
        {
            if (unscanned)
            {
                var combined = CombineOnce(batch, keptRows, p, aggregate, prior, resident, step, round?.Optimizer);
                if (combined is not int count) return null;
                emptyCount = count;
            }
            else
            {
                emptyCount = resident is not null && step is { } residentStep
                    ? Backend.Combine(batch, keptRows, p, config.Method, config.TrimAlpha, zero, aggregate, resident, residentStep)
                    : Backend.Combine(batch, keptRows, p, config.Method, config.TrimAlpha, zero, aggregate, prior, step);
            }
        }
        catch when (step is not null && round?.Optimizer is { } begun)
        {
            // A backend that failed mid-step (a device lost, no fallback) may have stepped part of the prior: the
            // optimizer goes back to where the round began, so that the round can be run again.
            begun.AbandonStep();
            throw;
        }
        if (round is var (opt, reward, _)) opt.CompleteStep(reward);

        var emptyColumns = emptyCount == 0 ? [] : EmptyColumnsOf(batch, keptRows, aggregate);
        var meta = new AggregationMeta(keptRows.Length, eligibility.LowConfidence, eligibility.NonFinite, eligibility.Empty, outliers,
            config.Method, config.TrimAlpha, RobustStatistics.Mean(confidences), balanced.WeightEntropy, balanced.DiversityTemperature,
            balanced.EffectiveDomains);
        return new DenseAggregationResult(owned, batch.Columns, emptyColumns, meta, RanOn());
    }

    /// <summary>The backend that finished the round: a device that failed over part-way finished it on its
    /// fallback (named by the device, the result hid that the round had run on cpu).</summary>
    private string RanOn() => Backend is FallbackBackend fallback ? fallback.ActiveName : Backend.Name;

    /// <summary>The combine on unscanned rows; on a non-finite cell the prior is put back as it was (from the
    /// optimizer's copy of this step, or from a copy taken here; a backend that steps the prior atomically has not
    /// changed it) and the result is null.</summary>
    private int? CombineOnce(DomainBatch batch, int[] rows, double[] p, Span<float> aggregate, Span<float> prior, ResidentPrior? resident,
        ReptileStep? step, DenseReptileOptimizer? optimizer)
    {
        var copy = step is not null && optimizer is null && !Backend.StepsPriorAtomically ? ArrayPool<float>.Shared.Rent(prior.Length) : null;
        try
        {
            if (copy is not null) prior.CopyTo(copy);
            var result = resident is not null && step is { } residentStep
                ? Backend.CombineUnscanned(batch, rows, p, Config.Method, Config.TrimAlpha, aggregate, resident, residentStep)
                : Backend.CombineUnscanned(batch, rows, p, Config.Method, Config.TrimAlpha, aggregate, prior, step);
            if (result is null)
            {
                if (optimizer is not null) optimizer.AbandonStep();
                else if (copy is not null)
                {
                    copy.AsSpan(0, prior.Length).CopyTo(prior);
                    resident?.MarkChanged();
                }
            }
            return result;
        }
        finally
        {
            if (copy is not null) ArrayPool<float>.Shared.Return(copy);
        }
    }

    /// <summary>Step 1's outcome: the eligible rows (ascending) and how many broke each rule.</summary>
    private sealed record Eligibility(List<int> Rows, int Empty, int NonFinite, int LowConfidence);

    /// <summary>The empty columns: NaN in the aggregate when it was written, else no kept row sent them.</summary>
    private static int[] EmptyColumnsOf(DomainBatch batch, int[] keptRows, ReadOnlySpan<float> aggregate)
    {
        var result = new List<int>();
        for (var c = 0; c < batch.Columns; c++)
        {
            bool isEmpty;
            if (!aggregate.IsEmpty) isEmpty = float.IsNaN(aggregate[c]);
            else
            {
                isEmpty = true;
                foreach (var r in keptRows)
                {
                    if (batch.IsPresent(r, c)) { isEmpty = false; break; }
                }
            }
            if (isEmpty) result.Add(c);
        }
        return result.ToArray();
    }
}
