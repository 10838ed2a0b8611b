namespace Meta.Gpu.TorchSharp.Sine;

/// <summary>
/// One few-shot regression task of the Reptile paper (Nichol et al., 2018, after Finn et al., 2017):
/// y = amplitude * sin(x + phase), amplitude in [0.1, 5], phase in [0, pi], x in [-5, 5].
/// </summary>
public readonly record struct SineTask(double Amplitude, double Phase)
{
    public const double AmplitudeMin = 0.1;
    public const double AmplitudeMax = 5.0;
    public const double PhaseMax = Math.PI;
    public const double XMin = -5.0;
    public const double XMax = 5.0;

    public double Evaluate(double x) => Amplitude * Math.Sin(x + Phase);

    /// <summary>Draws a task: amplitude and phase uniform over their ranges.</summary>
    public static SineTask Sample(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var amplitude = AmplitudeMin + (AmplitudeMax - AmplitudeMin) * random.NextDouble();
        var phase = PhaseMax * random.NextDouble();
        return new SineTask(amplitude, phase);
    }

    /// <summary>Draws <paramref name="count"/> points x uniform in [-5, 5] with their targets, as float32 for the
    /// model.</summary>
    public (float[] X, float[] Y) SampleShots(Random random, int count)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var xs = new float[count];
        var ys = new float[count];
        for (var i = 0; i < count; i++)
        {
            var x = XMin + (XMax - XMin) * random.NextDouble();
            xs[i] = (float)x;
            ys[i] = (float)Evaluate(x);
        }
        return (xs, ys);
    }

    /// <summary><paramref name="count"/> evenly spaced points over [-5, 5] (ends included) with their targets:
    /// where post-adaptation error is measured and curves are drawn.</summary>
    public (float[] X, float[] Y) Grid(int count)
    {
        // One point divided by count - 1 = 0 and came back as x = NaN.
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 2);
        var xs = new float[count];
        var ys = new float[count];
        for (var i = 0; i < count; i++)
        {
            var x = XMin + (XMax - XMin) * i / (count - 1);
            xs[i] = (float)x;
            ys[i] = (float)Evaluate(x);
        }
        return (xs, ys);
    }
}
