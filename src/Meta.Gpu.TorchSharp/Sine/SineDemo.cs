using System.Diagnostics;
using Meta.Gpu.Runtime;
using static TorchSharp.torch;

namespace Meta.Gpu.TorchSharp.Sine;

/// <summary>
/// Few-shot sine-wave regression, meta-learned with Reptile through <see cref="MetaTrainingLoop"/> (Nichol et
/// al., 2018): every meta-round samples <see cref="SineDemoOptions.Domains"/> tasks, adapts the network to each
/// from the prior with a few SGD steps on K shots, and moves the prior toward the adapted parameters. Then it
/// compares three starting points on held-out tasks, each adapted with the same inner loop on K shots: the
/// meta-learned prior, the random init it started from, and joint training (the same init trained by Adam on
/// every point of the same tasks, as one regression problem).
/// </summary>
public static class SineDemo
{
    /// <summary>Runs the demo. <paramref name="loopOptions"/> and <paramref name="bus"/> go to the training
    /// loop; <paramref name="configure"/> may wire the loop further (its step size, say) before the first
    /// round. <paramref name="progress"/> is called on this thread after every round and phase.</summary>
    public static async Task<SineDemoResult> RunAsync(
        SineDemoOptions options,
        IOuterStep outerStep,
        MetaTrainingOptions? loopOptions = null,
        IEventBus? bus = null,
        Action<MetaTrainingLoop>? configure = null,
        Action<SineDemoProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(outerStep);
        options.Validate();
        var clock = Stopwatch.StartNew();

        // The networks are tiny: one thread avoids libtorch's per-op threading overhead, which costs more than
        // it saves at 40 units, and keeps runs repeatable.
        set_num_threads(1);

        using var learner = new SineRegressor(options.Seed, options.InnerLearningRate);
        using var joint = new SineRegressor(options.Seed, options.InnerLearningRate);
        using var jointAdam = optim.Adam(joint.Module.parameters(), options.JointLearningRate);
        using var loop = new MetaTrainingLoop(learner.Module, outerStep, loopOptions, bus);
        configure?.Invoke(loop);
        var randomInit = loop.Prior.ToArray();

        var domainIds = DomainIds(options.Domains);
        var taskRandom = new Random(options.Seed + 1);
        var jointX = new float[options.Domains * options.Shots];
        var jointY = new float[jointX.Length];
        var tasks = new (string Id, float[] X, float[] Y)[options.Domains];
        MetaRoundResult? last = null;
        for (var round = 0; round < options.MetaRounds; round++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            SampleRound(options, domainIds, round, taskRandom, tasks, jointX, jointY);
            last = await loop.RunRoundAsync(tasks, task => AdaptToTask(learner, task.Id, task.X, task.Y, options.InnerSteps, cancellationToken), cancellationToken)
                .ConfigureAwait(false);
            JointStep(joint, jointAdam, jointX, jointY);
            progress?.Invoke(new SineDemoProgress("meta-training", round + 1, options.MetaRounds, last));
        }

        var meta = loop.Prior.ToArray();
        using var jointParameters = new ParameterVector(joint.Module);
        var jointStart = new float[jointParameters.Length];
        jointParameters.CopyTo(jointStart);

        var (mse, example) = Evaluate(options, meta, randomInit, jointStart, progress, cancellationToken);
        progress?.Invoke(new SineDemoProgress("evaluating", options.HeldOutTasks, options.HeldOutTasks, last));
        return new SineDemoResult(options, outerStep.Backend, mse, example, loop.Rollbacks, last?.Beta ?? double.NaN,
            new SortedDictionary<string, double>(loop.Knobs.ToDictionary(), StringComparer.Ordinal), clock.Elapsed)
        {
            Prior = meta,
        };
    }

    /// <summary>
    /// The comparison of <see cref="RunAsync"/> for a prior meta-learned elsewhere (domain workers over a broker,
    /// <see cref="SineTaskSeeding.PerDomainRound"/>): the random init, joint training on the same rounds' tasks
    /// (redrawn here from their seeds), and the held-out evaluation of the three starting points.
    /// <paramref name="knobs"/> are reported as they were (the run's fixed knobs).
    /// </summary>
    public static SineDemoResult Compare(
        SineDemoOptions options,
        string backend,
        float[] metaPrior,
        double beta,
        IReadOnlyDictionary<string, double> knobs,
        TimeSpan elapsed,
        Action<SineDemoProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(metaPrior);
        // Used only for the result: null was found after the joint training and the evaluation had run.
        ArgumentNullException.ThrowIfNull(knobs);
        options.Validate();
        var clock = Stopwatch.StartNew();
        set_num_threads(1);
        using var init = new SineRegressor(options.Seed, options.InnerLearningRate);
        using var initParameters = new ParameterVector(init.Module);
        if (metaPrior.Length != initParameters.Length)
            throw new InvalidInputException($"prior: {metaPrior.Length} values, the sine network has {initParameters.Length}");
        var randomInit = new float[initParameters.Length];
        initParameters.CopyTo(randomInit);

        using var joint = new SineRegressor(options.Seed, options.InnerLearningRate);
        using var jointAdam = optim.Adam(joint.Module.parameters(), options.JointLearningRate);
        var domainIds = DomainIds(options.Domains);
        var taskRandom = new Random(options.Seed + 1);
        var jointX = new float[options.Domains * options.Shots];
        var jointY = new float[jointX.Length];
        var tasks = new (string Id, float[] X, float[] Y)[options.Domains];
        for (var round = 0; round < options.MetaRounds; round++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            SampleRound(options, domainIds, round, taskRandom, tasks, jointX, jointY);
            JointStep(joint, jointAdam, jointX, jointY);
        }
        using var jointParameters = new ParameterVector(joint.Module);
        var jointStart = new float[jointParameters.Length];
        jointParameters.CopyTo(jointStart);

        var (mse, example) = Evaluate(options, metaPrior, randomInit, jointStart, progress, cancellationToken);
        return new SineDemoResult(options, backend, mse, example, 0, beta,
            new SortedDictionary<string, double>(knobs.ToDictionary(), StringComparer.Ordinal), elapsed + clock.Elapsed)
        {
            Prior = metaPrior,
        };
    }

    /// <summary>The demo's domain ids: domain-000, domain-001, ... (ordinal order = index order).</summary>
    public static string[] DomainIds(int count) => Enumerable.Range(0, count).Select(i => $"domain-{i:D3}").ToArray();

    /// <summary>Round <paramref name="round"/>'s task per domain, in domain order, and the joint-training batch.</summary>
    private static void SampleRound(SineDemoOptions options, string[] domainIds, int round, Random taskRandom,
        (string Id, float[] X, float[] Y)[] tasks, float[] jointX, float[] jointY)
    {
        for (var i = 0; i < tasks.Length; i++)
        {
            float[] x, y;
            if (options.TaskSeeding == SineTaskSeeding.PerDomainRound)
                (_, x, y) = SineRoundTasks.Sample(options.Seed, domainIds[i], round, options.Shots);
            else
                (x, y) = SineTask.Sample(taskRandom).SampleShots(taskRandom, options.Shots);
            tasks[i] = (domainIds[i], x, y);
            x.CopyTo(jointX, i * options.Shots);
            y.CopyTo(jointY, i * options.Shots);
        }
    }

    /// <summary>The inner loop (the same in process and in a domain worker): a few SGD steps on the task's shots from whatever the network holds (the prior).
    /// Confidence = how much of the loss adaptation removed, floored at 0.1 so that a task the steps could not
    /// improve still takes part with little weight. A task whose adapted loss is not finite (the steps diverged)
    /// gets 0 and takes no part.</summary>
    public static DomainOutcome AdaptToTask(SineRegressor model, string id, float[] x, float[] y, int steps, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        var before = model.Adapt(x, y, steps, cancellationToken);
        var after = model.Loss(x, y);
        var improvement = before > 0 ? 1 - after / before : 0;
        // Checked before the clamp: an infinite loss (1 - inf / before = -inf) was clamped to the floor, 0.1, and its
        // blown-up (finite) parameters went into the step, where a NaN loss gave 0.
        var confidence = double.IsFinite(after) && double.IsFinite(improvement) ? Math.Clamp(improvement, 0.1, 1.0) : 0;
        return new DomainOutcome(id, before, after, confidence);
    }

    private static void JointStep(SineRegressor joint, optim.Optimizer adam, float[] x, float[] y)
    {
        SineRegressor.UseOneThreadHere();
        using var scope = NewDisposeScope();
        adam.zero_grad();
        var loss = nn.functional.mse_loss(joint.Module.forward(tensor(x).reshape(x.Length, 1)), tensor(y).reshape(y.Length, 1));
        loss.backward();
        adam.step();
    }

    private static (StartingPointMse Mse, SineExample Example) Evaluate(
        SineDemoOptions options,
        float[] meta,
        float[] randomInit,
        float[] jointStart,
        Action<SineDemoProgress>? progress,
        CancellationToken cancellationToken)
    {
        using var model = new SineRegressor(options.Seed, options.InnerLearningRate);
        using var parameters = new ParameterVector(model.Module);
        var starts = new[] { meta, randomInit, jointStart };
        var sums = new double[starts.Length];
        var heldOut = new Random(options.Seed + 2);
        SineExample? example = null;
        for (var t = 0; t < options.HeldOutTasks; t++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var task = SineTask.Sample(heldOut);
            var (shotsX, shotsY) = task.SampleShots(heldOut, options.Shots);
            var (gridX, gridY) = task.Grid(options.EvaluationPoints);
            var predictions = new float[starts.Length][];
            for (var s = 0; s < starts.Length; s++)
            {
                parameters.CopyFrom(starts[s]);
                model.Adapt(shotsX, shotsY, options.InnerSteps, cancellationToken);
                sums[s] += model.Loss(gridX, gridY);
                if (t == 0) predictions[s] = model.Predict(gridX);
            }
            if (t == 0) example = new SineExample(task, gridX, gridY, shotsX, shotsY, predictions[0], predictions[1], predictions[2]);
            progress?.Invoke(new SineDemoProgress("evaluating", t + 1, options.HeldOutTasks, null));
        }
        var n = options.HeldOutTasks;
        return (new StartingPointMse(sums[0] / n, sums[1] / n, sums[2] / n), example!);
    }
}
