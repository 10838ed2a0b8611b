namespace Meta.Gpu.TorchSharp.Sine;

/// <summary>
/// Settings of the sine-wave meta-learning demo (<c>meta-gpu demo</c>). The defaults finish in about two minutes
/// on a 2-core CPU with the <c>cpu</c> backend.
/// </summary>
public sealed record SineDemoOptions
{
    /// <summary>Base seed: the model init uses it, the training tasks seed + 1, the held-out tasks seed + 2 (the CLI's
    /// scheduler jitter seed + 3); at most <see cref="MaxSeed"/>.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>The largest <see cref="Seed"/>: above it seed + 1 .. seed + 3 wrap around, and <see cref="Random(int)"/>,
    /// which seeds with the absolute value, drew the held-out tasks from the training tasks' stream.</summary>
    public const int MaxSeed = int.MaxValue - 3;

    /// <summary>The most <see cref="Domains"/>: a round's batch holds every domain's parameters in one array
    /// (<see cref="Meta.Gpu.Compute.DomainBatch.MaxRows"/>).</summary>
    public static int MaxDomains => Meta.Gpu.Compute.DomainBatch.MaxRows(SineRegressor.ParameterCount);

    /// <summary>Meta-rounds (outer Reptile steps).</summary>
    public int MetaRounds { get; init; } = 3000;

    /// <summary>Domains (sine tasks) sampled per meta-round.</summary>
    public int Domains { get; init; } = 10;

    /// <summary>K: training points per task.</summary>
    public int Shots { get; init; } = 10;

    /// <summary>Full-batch SGD steps of the inner loop, in meta-training and when adapting to a held-out task.</summary>
    public int InnerSteps { get; init; } = 5;

    /// <summary>Learning rate of the inner SGD steps.</summary>
    public double InnerLearningRate { get; init; } = 0.05;

    /// <summary>Held-out tasks the three starting points are compared on.</summary>
    public int HeldOutTasks { get; init; } = 100;

    /// <summary>Points (evenly spaced over [-5, 5]) where a held-out task's post-adaptation MSE is measured.</summary>
    public int EvaluationPoints { get; init; } = 100;

    /// <summary>Learning rate of the joint-training baseline (Adam, one step per meta-round on every point of
    /// that round's tasks: the same data meta-training sees).</summary>
    public double JointLearningRate { get; init; } = 0.001;

    /// <summary>How each round's training tasks are drawn (default <see cref="SineTaskSeeding.Sequential"/>, the
    /// published figures' draw; a run over a broker uses <see cref="SineTaskSeeding.PerDomainRound"/>).</summary>
    public SineTaskSeeding TaskSeeding { get; init; } = SineTaskSeeding.Sequential;

    public void Validate()
    {
        if (Seed > MaxSeed) throw new InvalidInputException(FormattableString.Invariant($"seed: must be <= {MaxSeed} (seed + 1, + 2 and + 3 seed the training tasks, the held-out tasks and the scheduler), got {Seed}"));
        Positive(MetaRounds, "meta_rounds");
        Positive(Domains, "domains");
        // Past it the first round's batch refused the row count (an ArgumentOutOfRangeException naming "rows"), after
        // the model, the joint baseline and the round's tasks had been made.
        if (Domains > MaxDomains)
            throw new InvalidInputException(FormattableString.Invariant($"domains: must be <= {MaxDomains} (a round's batch holds every domain's {SineRegressor.ParameterCount} parameters in one array), got {Domains}"));
        Positive(Shots, "shots");
        // A round's joint-training set holds every domain's shots in one array: their product overflowed int
        // (a negative length, or a wrapped small one) or asked for more than an array holds, deep in the run.
        if ((long)Domains * Shots > Array.MaxLength)
            throw new InvalidInputException(FormattableString.Invariant($"domains x shots: {Domains} x {Shots} points a round is more than one array holds ({Array.MaxLength})"));
        Positive(HeldOutTasks, "held_out_tasks");
        if (InnerSteps < 1) throw new InvalidInputException(FormattableString.Invariant($"inner_steps: must be >= 1, got {InnerSteps}"));
        if (EvaluationPoints < 2) throw new InvalidInputException(FormattableString.Invariant($"evaluation_points: must be >= 2, got {EvaluationPoints}"));
        if (!(InnerLearningRate > 0) || !double.IsFinite(InnerLearningRate))
            throw new InvalidInputException(FormattableString.Invariant($"inner_learning_rate: must be > 0, got {InnerLearningRate}"));
        if (!(JointLearningRate > 0) || !double.IsFinite(JointLearningRate))
            throw new InvalidInputException(FormattableString.Invariant($"joint_learning_rate: must be > 0, got {JointLearningRate}"));
    }

    private static void Positive(int value, string name)
    {
        if (value < 1) throw new InvalidInputException(FormattableString.Invariant($"{name}: must be >= 1, got {value}"));
    }
}
