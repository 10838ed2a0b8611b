using Meta.Gpu.Compute;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;
using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// A dense lane used after its Dispose (the agent's <see cref="MetaLearningAgent.Dense"/> after the agent stopped): on
/// a backend the caller owns, it still took updates in and its round still saved into the storage, which a successor
/// agent may hold by then (on a backend it owned, the round failed on the backend instead, the update taken in).
/// Every use after Dispose throws <see cref="ObjectDisposedException"/>; Dispose again does nothing.
/// </summary>
public sealed class DenseLaneDisposedTests
{
    private static readonly MetaLearningConfig Config = MetaLearningConfig.Default;

    private static LearningRoundInput Round() => new(0.5, DrgProfile.None, 50, new SchedulerTelemetry());

    private static DenseUpdate Update(long sequence) =>
        new("b", sequence, 0.9, new DomainMetrics(GainP50: 0.5), [7f, 7f, 7f]);

    [Fact]
    public async Task The_dense_lane_of_a_stopped_agent_refuses_updates_rounds_and_saves_and_leaves_the_storage_as_it_was()
    {
        using var folder = new TempFolder();
        var storage = new MetaStorageManager(new StorageConfig(folder.Path));
        using var backend = new CpuBackend();
        await using var bus = new EventBus();
        var agent = new MetaLearningAgent(bus, Config, storage, denseBackend: backend);
        await agent.StartAsync();
        Assert.True(agent.Dense.Accept(Update(1)));
        Assert.NotNull(agent.Dense.RunRound(Round()));
        await agent.StopAsync();
        var saved = storage.LoadDensePrior()!;

        Assert.Throws<ObjectDisposedException>(() => agent.Dense.Accept(Update(2)));
        Assert.Throws<ObjectDisposedException>(() => agent.Dense.RunRound(Round()));
        Assert.Throws<ObjectDisposedException>(() => agent.Dense.SaveChanges());
        agent.Dense.Dispose();

        var after = storage.LoadDensePrior()!;
        Assert.Equal(saved.Round, after.Round);
        Assert.Equal(saved.Values, after.Values);
        Assert.Equal(saved.LastSequences, after.LastSequences);
    }
}
