using Meta.Gpu.Compute;
using Meta.Gpu.Learning;
using Meta.Gpu.Tests.Compute;
using Microsoft.Extensions.Logging.Abstractions;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// The dense lane refills one round's batch in the next round of as many updates, and a device backend keeps its
/// copy of a batch across rounds until the batch is marked changed (DESIGN §4: the batch "can stay resident on the
/// device across rounds"; §10: the pending updates form a <see cref="DomainBatch"/> that goes through §4 on the
/// configured backend). Each round on ilgpu-cpu must aggregate its own updates, as the cpu backend does within §13's
/// tolerance, not the device's copy of the last round's values.
/// </summary>
[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class DenseLaneDeviceBatchTests
{
    private static readonly MetaLearningConfig Config = MetaLearningConfig.Default;

    private static LearningRoundInput Round() => new(0.5, DrgProfile.None, 50, new SchedulerTelemetry());

    [Fact]
    public void Every_round_of_as_many_updates_aggregates_its_own_values_on_a_device_backend()
    {
        const int d = 45;
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        using var device = IlgpuBackend.TryCreate("ilgpu-cpu") ?? throw new InvalidOperationException("ILGPU's CPU accelerator is missing");
        using var cpu = new CpuBackend();
        using var onDevice = new DenseLearningLane(Config, device, false, null, new MetaPacketValidator(Config.Validator), NullLogger.Instance);
        using var onCpu = new DenseLearningLane(Config, cpu, false, null, new MetaPacketValidator(Config.Validator), NullLogger.Instance);
        string[] domains = ["a", "b", "c", "d", "e"];

        for (var round = 1; round <= 3; round++)
        {
            // Each round's values lie far from the last round's (about 20 apart): a stale batch moves the prior
            // by beta times that.
            foreach (var domain in domains)
            {
                var v = new float[d];
                for (var c = 0; c < d; c++) v[c] = 20f * round + (float)(rng.NextDouble() * 2 - 1);
                var confidence = 0.3 + 0.7 * rng.NextDouble();
                Assert.True(onDevice.Accept(new DenseUpdate(domain, round, confidence, new DomainMetrics(GainP50: 0.5), v)));
                Assert.True(onCpu.Accept(new DenseUpdate(domain, round, confidence, new DomainMetrics(GainP50: 0.5), v)));
            }

            Assert.NotNull(onDevice.RunRound(Round()));
            Assert.NotNull(onCpu.RunRound(Round()));

            var expected = onCpu.Optimizer!.Prior;
            var actual = onDevice.Optimizer!.Prior;
            for (var c = 0; c < d; c++)
            {
                Assert.True(Math.Abs(actual[c] - expected[c]) <= 1e-4 + 1e-4 * Math.Abs(expected[c]),
                    $"seed {seed}, round {round}, column {c}: ilgpu-cpu {actual[c]:R}, cpu {expected[c]:R}");
            }
        }
    }
}
