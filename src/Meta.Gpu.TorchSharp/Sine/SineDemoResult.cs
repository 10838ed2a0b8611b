namespace Meta.Gpu.TorchSharp.Sine;

/// <summary>Mean post-adaptation MSE on the held-out tasks for each starting point.</summary>
public sealed record StartingPointMse(double Meta, double Random, double Joint);

/// <summary>One held-out task drawn for the plot: the true curve, the K shots, and each start's predictions
/// after adaptation on those shots.</summary>
public sealed record SineExample(
    SineTask Task,
    float[] GridX,
    float[] GridY,
    float[] ShotsX,
    float[] ShotsY,
    float[] Meta,
    float[] Random,
    float[] Joint);

/// <summary>What the demo measured.</summary>
public sealed record SineDemoResult(
    SineDemoOptions Options,
    string Backend,
    StartingPointMse Mse,
    SineExample Example,
    int Rollbacks,
    double FinalBeta,
    IReadOnlyDictionary<string, double> Knobs,
    TimeSpan Elapsed)
{
    /// <summary>Rounds the governing agent took on the knob prior (0 without one); set by the host that runs it.</summary>
    public long GovernanceRounds { get; init; }

    /// <summary>The meta-learned prior (the network's parameters, <see cref="ParameterVector"/> layout).</summary>
    public float[] Prior { get; init; } = [];
}

/// <summary>Where the demo is, for a progress bar: the phase ("meta-training", "joint training",
/// "evaluating"), done of total, and the last meta-round when there is one.</summary>
public sealed record SineDemoProgress(string Phase, int Done, int Total, MetaRoundResult? Round);
