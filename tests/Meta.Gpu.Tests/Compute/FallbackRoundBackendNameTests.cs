using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// A dense result names "the backend that ran the round" (<see cref="DenseAggregationResult.Backend"/>, and
/// <c>backend</c> in its meta, which the dense lane publishes in <c>meta_dense_prior</c>). When the device failed and
/// the round was finished on cpu (<see cref="FallbackBackend"/>), that is cpu: the result named the device, so a
/// published round hid that the device had failed over.
/// </summary>
public sealed class FallbackRoundBackendNameTests
{
    [Fact]
    public void A_round_the_device_failed_and_cpu_finished_names_cpu_as_its_backend()
    {
        var batch = ReadOnceRoundTests.FiniteBatch(TestSeed.Next(), 7, 19);
        var device = new CombineFailingBackend(ComputeBackends.Cuda, fail: true);
        using var fallback = new FallbackBackend(device, new CpuBackend());
        var aggregator = new DenseCrossDomainAggregator(fallback, CrossMetaConfig.Default);

        var failedOver = aggregator.Aggregate(batch);
        Assert.Equal(1, fallback.Failures);
        Assert.Equal(ComputeBackends.Cpu, failedOver.Backend);
        Assert.Equal(ComputeBackends.Cpu, (string?)failedOver.MetaJson()["backend"]);

        // The next round runs on the device again, and says so.
        device.Fail = false;
        var onDevice = aggregator.Aggregate(batch);
        Assert.Equal(ComputeBackends.Cuda, onDevice.Backend);
        Assert.Equal(ComputeBackends.Cuda, (string?)onDevice.MetaJson()["backend"]);
        Assert.Equal(failedOver.Aggregate, onDevice.Aggregate);
    }
}
