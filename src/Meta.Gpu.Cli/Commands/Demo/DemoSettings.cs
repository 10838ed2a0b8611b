namespace Meta.Gpu.Cli.Commands.Demo;

/// <summary>What `meta-gpu demo` was asked to do. Holds no type of the TorchSharp side, so building the command
/// line never loads it; the defaults repeat <c>SineDemoOptions</c>'s (keep them in step).</summary>
internal sealed record DemoSettings
{
    public string OutputDirectory { get; init; } = ".";
    public int Seed { get; init; } = 42;
    public int MetaRounds { get; init; } = 3000;
    public int Domains { get; init; } = 10;

    /// <summary>The option <see cref="Domains"/> came from, for errors: <c>--workers</c> when it set the count
    /// (no <c>--domains</c> given).</summary>
    public string DomainCountOption { get; init; } = "--domains";
    public int InnerSteps { get; init; } = 5;
    public int HeldOutTasks { get; init; } = 100;
    public double InnerLearningRate { get; init; } = 0.05;

    /// <summary>The outer step size the run starts from (the optimizer's <c>beta_init</c>, DESIGN §8).</summary>
    public double Beta { get; init; } = 0.1;

    /// <summary>The outer step's compute backend; <c>cpu</c> by default (the 2-minute figure is for it).</summary>
    public string Backend { get; init; } = "cpu";

    /// <summary>Supervisor and agent on the bus, governing the run (default on).</summary>
    public bool Governance { get; init; } = true;

    public bool Quiet { get; init; }

    /// <summary>The broker of a run with domain worker processes (<c>--bus</c>); null: in process.</summary>
    public Meta.Gpu.Nats.NatsBusOptions? Bus { get; init; }

    /// <summary>Domain worker processes this command starts itself (<c>--workers</c>); 0: the workers are started
    /// elsewhere (<c>meta-gpu domain</c>).</summary>
    public int Workers { get; init; }

    /// <summary>Folder of the bus run's saved prior (<c>--storage</c>); a rerun on the same folder resumes. Null:
    /// a fresh temporary folder.</summary>
    public string? Storage { get; init; }

    /// <summary>How long a bus round waits for every domain's update before the run stops with an error.</summary>
    public TimeSpan RoundTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public void Validate()
    {
        // SineDemoOptions' own bound, named as the option here (a const: using it loads no TorchSharp type).
        if (Seed > Meta.Gpu.TorchSharp.Sine.SineDemoOptions.MaxSeed) throw new InvalidInputException($"--seed: must be <= {Meta.Gpu.TorchSharp.Sine.SineDemoOptions.MaxSeed} (seed + 1, + 2 and + 3 seed the training tasks, the held-out tasks and the scheduler), got {Seed}");
        if (MetaRounds < 1) throw new InvalidInputException($"--meta-rounds: must be >= 1, got {MetaRounds}");
        if (Domains < 1) throw new InvalidInputException($"--domains: must be >= 1, got {Domains}");
        // SineDemoOptions' bound, named as the option the count came from: past it the run died in its first round on an
        // unhandled exception from the round's batch (exit 134), libtorch loaded and the run under way.
        if (Domains > Meta.Gpu.TorchSharp.Sine.SineDemoOptions.MaxDomains)
            throw new InvalidInputException($"{DomainCountOption}: must be <= {Meta.Gpu.TorchSharp.Sine.SineDemoOptions.MaxDomains} (a round's batch holds every domain's {Meta.Gpu.TorchSharp.Sine.SineRegressor.ParameterCount} parameters in one array), got {Domains}");
        if (InnerSteps < 1) throw new InvalidInputException($"--inner-steps: must be >= 1, got {InnerSteps}");
        if (HeldOutTasks < 1) throw new InvalidInputException($"--held-out: must be >= 1, got {HeldOutTasks}");
        if (!(InnerLearningRate > 0) || !double.IsFinite(InnerLearningRate)) throw new InvalidInputException(FormattableString.Invariant($"--inner-lr: must be > 0, got {InnerLearningRate}"));
        if (!(Beta > 0 && Beta <= 1)) throw new InvalidInputException(FormattableString.Invariant($"--beta: must be in (0, 1], got {Beta}"));
        if (string.IsNullOrWhiteSpace(OutputDirectory)) throw new InvalidInputException("--out: must name a folder");
        if (Storage is not null && string.IsNullOrWhiteSpace(Storage)) throw new InvalidInputException("--storage: must name a folder");
        if (Workers < 0) throw new InvalidInputException($"--workers: must be >= 0, got {Workers}");
        if (Bus is null && Workers > 0) throw new InvalidInputException("--workers: domain worker processes need --bus nats://HOST:PORT");
        if (Bus is null && Storage is not null) throw new InvalidInputException("--storage: only a run over --bus saves its prior");
        if (Bus is not null && Workers > 0 && Workers != Domains) throw new InvalidInputException($"--workers {Workers}: one worker per domain, so it must equal --domains ({Domains})");
        if (!(RoundTimeout > TimeSpan.Zero)) throw new InvalidInputException(FormattableString.Invariant($"--round-timeout: must be positive, got {RoundTimeout.TotalSeconds}"));
    }
}
