using Meta.Gpu.Compute;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;
using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// A dense lane over storage used before its <see cref="DenseLearningLane.Load"/> (a standalone lane, or the agent's
/// <see cref="MetaLearningAgent.Dense"/> before <see cref="MetaLearningAgent.StartAsync"/>): its round started a
/// fresh prior from the update and saved it over the trained dense prior the storage held, which only the load reads
/// (round 1 and the update's values where round 12's trained values were). The lane now loads before it takes
/// anything in; a load after that (the agent's start) does nothing.
/// </summary>
public sealed class DenseLaneNotLoadedTests
{
    private static readonly MetaLearningConfig Config = MetaLearningConfig.Default;

    private static readonly float[] Trained = [0.25f, -1.5f, 3f, 0.125f];

    private static LearningRoundInput Round() => new(0.5, DrgProfile.None, 50, new SchedulerTelemetry());

    private static DenseUpdate Update(string domain, long sequence, int d) =>
        new(domain, sequence, 0.9, new DomainMetrics(GainP50: 0.5), Enumerable.Repeat(7f, d).ToArray());

    private static MetaStorageManager TrainedStorage(TempFolder folder)
    {
        var storage = new MetaStorageManager(new StorageConfig(folder.Path));
        storage.SaveDensePrior(Trained, 12, new Dictionary<string, long> { ["a"] = 5 });
        return storage;
    }

    /// <summary>The trained prior stepped once toward an update of 7s, as a loaded lane steps it.</summary>
    private static float[] TrainedSteppedOnce()
    {
        var optimizer = new DenseReptileOptimizer(Trained.Length, Config.Optimizer with { UpdateRule = UpdateRule.Interpolate }, Trained);
        optimizer.Apply(Enumerable.Repeat(7f, Trained.Length).ToArray(), 0.5, default);
        return optimizer.Prior;
    }

    [Fact]
    public void A_lane_over_storage_used_before_its_load_steps_the_saved_prior_instead_of_replacing_it()
    {
        using var folder = new TempFolder();
        var storage = TrainedStorage(folder);
        using var lane = new DenseLearningLane(Config, new CpuBackend(), true, storage, new MetaPacketValidator(Config.Validator), NullLogger.Instance);

        Assert.True(lane.Accept(Update("b", 1, Trained.Length)));
        Assert.NotNull(lane.RunRound(Round()));

        // Before: [7, 7, 7, 7] at round 1, a's sequence gone.
        var saved = storage.LoadDensePrior()!;
        Assert.Equal(TrainedSteppedOnce(), saved.Values);
        Assert.Equal(13, saved.Round);
        Assert.Equal(5, saved.LastSequences["a"]);
        Assert.Equal(1, saved.LastSequences["b"]);
    }

    [Fact]
    public void A_lane_over_storage_loaded_before_use_refuses_an_update_of_another_width_than_the_saved_prior()
    {
        using var folder = new TempFolder();
        var storage = TrainedStorage(folder);
        using var lane = new DenseLearningLane(Config, new CpuBackend(), true, storage, new MetaPacketValidator(Config.Validator), NullLogger.Instance);

        // Before: D was fixed from this update (3), and the saved prior of 4 was overwritten with a prior of 3.
        Assert.False(lane.Accept(Update("b", 1, 3)));
        Assert.Null(lane.RunRound(Round()));
        Assert.Equal(Trained, storage.LoadDensePrior()!.Values);
    }

    [Fact]
    public async Task The_agents_dense_lane_used_before_the_agent_starts_keeps_the_saved_prior_and_the_start_keeps_what_it_did()
    {
        using var folder = new TempFolder();
        var storage = TrainedStorage(folder);
        await using var bus = new EventBus();
        await using var agent = new MetaLearningAgent(bus, Config, storage);

        Assert.True(agent.Dense.Accept(Update("b", 1, Trained.Length)));
        Assert.NotNull(agent.Dense.RunRound(Round()));
        await agent.StartAsync();

        Assert.Equal(TrainedSteppedOnce(), agent.Dense.Optimizer!.Prior);
        Assert.Equal(13, agent.Dense.Round);
        Assert.Equal(13, storage.LoadDensePrior()!.Round);
    }
}
