using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// IlgpuBackend.Dispose frees its device buffers, its page-locked staging and the accelerator (with the ILGPU
/// context) one after another. One that throws (a driver error) must not keep the rest from being released: the
/// first failure is rethrown once all have gone, the backend holds no device bytes afterwards, and a second Dispose
/// does nothing. Before, the first throw left every later buffer and the accelerator allocated.
/// </summary>
[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class IlgpuBackendDisposeTests
{
    /// <summary>An ilgpu-cpu backend that has run a combine (so its buffers hold device memory), whose releases are
    /// recorded and throw at the given positions (1-based).</summary>
    private static (IlgpuBackend Backend, List<IDisposable> Released) Backend(params int[] throwAt)
    {
        var backend = IlgpuBackend.Create(ComputeBackends.IlgpuCpu);
        var batch = new DomainBatch(3, 64);
        for (var r = 0; r < 3; r++) batch.Row(r).Fill(r);
        batch.MarkChanged();
        backend.Combine(batch, [0, 1, 2], [0.2, 0.3, 0.5], AggregationMethod.Mean, 0.1, false, new float[64], new float[64],
            new ReptileStep(ReptileRule.Interpolate, 0.5));
        Assert.True(backend.DeviceBytesHeld > 0);
        var released = new List<IDisposable>();
        backend.ReleaseStep = held =>
        {
            released.Add(held);
            // A failed release frees nothing, except that the test process should not keep an ILGPU context alive.
            if (ReferenceEquals(held, backend.Accelerator) || !throwAt.Contains(released.Count)) held.Dispose();
            if (throwAt.Contains(released.Count)) throw new InvalidOperationException($"release {released.Count} failed");
        };
        return (backend, released);
    }

    /// <summary>What Dispose releases when nothing throws.</summary>
    private static int ReleasesOfADispose()
    {
        var (backend, released) = Backend();
        backend.Dispose();
        return released.Count;
    }

    [Fact]
    public void A_release_that_throws_leaves_the_others_released_and_its_exception_surfaces()
    {
        var all = ReleasesOfADispose();
        var (backend, released) = Backend(throwAt: 2);

        var error = Assert.Throws<InvalidOperationException>(backend.Dispose);

        Assert.Equal("release 2 failed", error.Message);
        Assert.Equal(all, released.Count);
        Assert.Contains(backend.Accelerator, released);
        Assert.Equal(0, backend.DeviceBytesHeld);
    }

    [Fact]
    public void When_several_releases_throw_the_first_failure_surfaces()
    {
        var all = ReleasesOfADispose();
        var (backend, released) = Backend(throwAt: [3, 5, all]);

        var error = Assert.Throws<InvalidOperationException>(backend.Dispose);

        Assert.Equal("release 3 failed", error.Message);
        Assert.Equal(all, released.Count);
    }

    [Fact]
    public void The_accelerator_goes_last_even_when_its_own_release_throws()
    {
        var all = ReleasesOfADispose();
        var (backend, released) = Backend(throwAt: all);

        var error = Assert.Throws<InvalidOperationException>(backend.Dispose);

        Assert.Equal($"release {all} failed", error.Message);
        Assert.Same(backend.Accelerator, released[^1]);
        Assert.Equal(0, backend.DeviceBytesHeld);
    }

    [Fact]
    public void A_second_Dispose_after_a_failed_one_releases_nothing_again_and_does_not_throw()
    {
        var (backend, released) = Backend(throwAt: 1);
        Assert.Throws<InvalidOperationException>(backend.Dispose);
        var count = released.Count;

        backend.Dispose();

        Assert.Equal(count, released.Count);
        Assert.Throws<ObjectDisposedException>(() => backend.ScanRows(new DomainBatch(1, 4), new RowScan[1]));
    }
}
