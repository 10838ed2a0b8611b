using Meta.Gpu.Compute;

namespace Meta.Gpu.TorchSharp;

/// <summary>
/// The textbook outer step, on the host: a confidence-weighted mean of the rows (rows with a non-finite value or
/// a confidence below <paramref name="minConfidence"/> left out), then the Reptile interpolation. With a presence
/// mask, as the engine's <c>missing_keys = ignore</c> (DESIGN §4): each column's mean is over the rows that sent it,
/// only sent cells are checked for non-finite values, a row that sent nothing is left out, and a column no kept row
/// sent keeps the prior's value. No outlier
/// filter and no diversity balancing: the engine's <see cref="IOuterStep"/> adds those; this one is the
/// reference the engine's path is checked against and the fallback when no engine backend is wanted.
/// </summary>
public sealed class WeightedMeanReptileStep(double minConfidence = 0.05) : IOuterStep
{
    // As the engine's min_confidence (DESIGN §4: > 0): at 0 a round whose domains all report confidence 0 took
    // part with a weight sum of 0 and wrote 0/0 into every prior value.
    private readonly double _minConfidence = minConfidence > 0 && double.IsFinite(minConfidence)
        ? minConfidence
        : throw new ArgumentOutOfRangeException(nameof(minConfidence), minConfidence, "min_confidence must be finite and > 0");

    private double[] _sum = [];
    // Per-column weight sums, for a batch with a mask.
    private double[] _columnWeights = [];

    public string Backend => "host";

    public OuterStepResult Step(DomainBatch batch, Span<float> prior, double beta)
    {
        ArgumentNullException.ThrowIfNull(batch);
        // As the engine's step refuses it (CombineInput): a NaN beta wrote NaN into every prior value.
        if (!double.IsFinite(beta)) throw new ArgumentOutOfRangeException(nameof(beta), beta, "beta must be finite");
        if (prior.Length != batch.Columns)
            throw new ArgumentException($"the prior has {prior.Length} values; the batch has {batch.Columns} columns", nameof(prior));
        if (_sum.Length != batch.Columns) _sum = new double[batch.Columns];
        Array.Clear(_sum);
        // The mask was ignored: absent cells (zeros, or whatever the row held) were averaged in as values, pulling
        // the prior toward them, and a NaN in an absent cell left the whole row out.
        var masked = batch.Mask is not null;
        if (masked)
        {
            if (_columnWeights.Length != batch.Columns) _columnWeights = new double[batch.Columns];
            Array.Clear(_columnWeights);
        }

        // Weights are the confidences scaled by the power of two that brings the largest one into [1, 2) (the mean
        // does not change; DESIGN §4 weighs by w_i / sum w). A huge confidence (1e308, a ratio of losses whose
        // divisor underflowed) overflowed the sums, and inf / inf wrote NaN into every prior value; tiny ones
        // (1e-300 under a min_confidence of 1e-310) made confidence * value fall below float64's range, losing the
        // row's value, and their squares summed to 0 (a NaN effective domain count). A power of two scales exactly:
        // ordinary confidences give the same bits as unscaled.
        var largest = 0.0;
        for (var row = 0; row < batch.Rows; row++)
            if (Eligible(batch.Confidences[row])) largest = Math.Max(largest, batch.Confidences[row]);
        var exponent = largest > 0 ? Math.ILogB(largest) : 0;

        double weightSum = 0, weightSquares = 0;
        var participants = 0;
        for (var row = 0; row < batch.Rows; row++)
        {
            var confidence = batch.Confidences[row];
            if (!Eligible(confidence)) continue;
            var values = batch.Row(row);
            var weight = Math.ScaleB(confidence, -exponent);
            if (masked)
            {
                var present = batch.MaskRow(row);
                if (!AnyPresentAndPresentFinite(values, present)) continue;
                for (var d = 0; d < values.Length; d++)
                {
                    if (present[d] == 0) continue;
                    _sum[d] += weight * values[d];
                    _columnWeights[d] += weight;
                }
            }
            else
            {
                if (!AllFinite(values)) continue;
                for (var d = 0; d < values.Length; d++) _sum[d] += weight * values[d];
            }
            weightSum += weight;
            weightSquares += weight * weight;
            participants++;
        }
        if (participants > 0)
        {
            for (var d = 0; d < prior.Length; d++)
            {
                var columnWeight = masked ? _columnWeights[d] : weightSum;
                if (columnWeight == 0) continue;
                var mean = _sum[d] / columnWeight;
                // A NaN prior value is a column the prior does not hold yet: it adopts the mean (DESIGN §8 (d), as
                // DenseReptile.StepValue and the engine's step do); NaN + beta * (mean - NaN) kept it NaN for ever.
                prior[d] = float.IsNaN(prior[d]) ? (float)mean : (float)(prior[d] + beta * (mean - prior[d]));
            }
        }
        return new OuterStepResult(
            participants,
            [],
            participants > 0 ? Math.ScaleB(weightSum / participants, exponent) : 0,
            participants > 0 ? weightSum * weightSum / weightSquares : 0,
            "mean");
    }

    private bool Eligible(double confidence) => double.IsFinite(confidence) && confidence >= _minConfidence;

    private static bool AnyPresentAndPresentFinite(ReadOnlySpan<float> values, ReadOnlySpan<byte> present)
    {
        var any = false;
        for (var d = 0; d < values.Length; d++)
        {
            if (present[d] == 0) continue;
            if (!float.IsFinite(values[d])) return false;
            any = true;
        }
        return any;
    }

    private static bool AllFinite(ReadOnlySpan<float> values)
    {
        foreach (var v in values)
            if (!float.IsFinite(v)) return false;
        return true;
    }

    public void Dispose() { }
}
