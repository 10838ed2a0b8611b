namespace Meta.Gpu.Learning.Aggregation;

/// <summary>The weights after balancing, with the meta fields that describe them (DESIGN §4 steps 4, 5, 7).</summary>
public readonly record struct BalancedWeights(double WeightEntropy, double DiversityTemperature, double EffectiveDomains);

/// <summary>
/// Entropy-based diversity balancing (DESIGN §4 step 5): when the normalised entropy of the domain weights is
/// below the target, the weights are flattened to w^t, with t in [0, 1] found by 60 bisection steps so that the
/// entropy just reaches the target. H is monotone in t and H(0) = 1, so the search always succeeds.
/// </summary>
public static class DiversityBalancing
{
    private const int BisectionSteps = 60;
    private const double EntropySlack = 1e-12;

    /// <summary>Normalised entropy -sum p ln p / ln n (n &gt;= 2; 1 otherwise) of probabilities <paramref name="p"/>.</summary>
    public static double NormalisedEntropy(ReadOnlySpan<double> p)
    {
        if (p.Length < 2) return 1.0;
        var h = 0.0;
        foreach (var x in p)
            if (x > 0) h -= x * Math.Log(x);
        return h / Math.Log(p.Length);
    }

    /// <summary>p = normalised w^t into <paramref name="p"/>.</summary>
    public static void Tempered(ReadOnlySpan<double> weights, double t, Span<double> p)
    {
        var sum = Powers(weights, t, 1.0, p);
        // Finite weights near double's largest (confidences of 1e308) can sum past it, and every p came out 0: the
        // entropy read 0 and balancing flattened weights that were already even. Divided by the largest weight first,
        // the powers sum to at most n, and their normalised values are the same.
        if (!double.IsFinite(sum))
        {
            var largest = 0.0;
            foreach (var w in weights) largest = Math.Max(largest, w);
            sum = Powers(weights, t, largest, p);
        }
        for (var i = 0; i < p.Length; i++) p[i] /= sum;
    }

    /// <summary>(w / <paramref name="scale"/>)^t into <paramref name="p"/>; returns their sum.</summary>
    private static double Powers(ReadOnlySpan<double> weights, double t, double scale, Span<double> p)
    {
        var sum = 0.0;
        for (var i = 0; i < weights.Length; i++)
        {
            var w = weights[i] / scale;
            p[i] = t == 1.0 ? w : Math.Pow(w, t);
            sum += p[i];
        }
        return sum;
    }

    /// <summary>
    /// Writes the final probabilities for raw weights <paramref name="weights"/> (all &gt; 0) into
    /// <paramref name="p"/>; <paramref name="target"/> null leaves them proportional to the weights.
    /// </summary>
    public static BalancedWeights Balance(ReadOnlySpan<double> weights, double? target, Span<double> p)
    {
        if (weights.Length == 0) return new BalancedWeights(1.0, 1.0, 0.0);
        if (p.Length != weights.Length) throw new ArgumentException("p must be as long as weights", nameof(p));

        Tempered(weights, 1.0, p);
        var t = 1.0;
        if (target is double goal && NormalisedEntropy(p) < goal - EntropySlack)
        {
            double lo = 0.0, hi = 1.0;
            for (var step = 0; step < BisectionSteps; step++)
            {
                var mid = (lo + hi) / 2.0;
                Tempered(weights, mid, p);
                if (NormalisedEntropy(p) >= goal) lo = mid;
                else hi = mid;
            }
            t = lo;
            Tempered(weights, t, p);
        }

        var sumSquares = 0.0;
        foreach (var x in p) sumSquares += x * x;
        return new BalancedWeights(NormalisedEntropy(p), t, 1.0 / sumSquares);
    }
}
