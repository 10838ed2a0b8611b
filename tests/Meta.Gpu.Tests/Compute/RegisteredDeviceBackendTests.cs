using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;
using Meta.Gpu.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// <see cref="ComputeBackends"/> over device factories a test registers (DESIGN §13), so that the rules hold on a
/// machine without a GPU: <c>auto</c> tries cuda, then opencl, each behind a cpu fallback, and logs why it passed one
/// over; a named device that cannot start is invalid input under the caller's field; the caller's logger hears of a
/// device failure that sends a round to cpu.
/// </summary>
[Collection(IlgpuCollection.Name)]
public sealed class RegisteredDeviceBackendTests
{
    /// <summary>Runs <paramref name="test"/> with cuda and opencl served by the given factories, then puts the
    /// registered ones back.</summary>
    private static void WithDevices(Func<IComputeBackend> cuda, Func<IComputeBackend> opencl, Action test)
    {
        var savedCuda = ComputeBackends.FactoryOf(ComputeBackends.Cuda);
        var savedOpenCl = ComputeBackends.FactoryOf(ComputeBackends.OpenCl);
        try
        {
            ComputeBackends.Register(ComputeBackends.Cuda, cuda);
            ComputeBackends.Register(ComputeBackends.OpenCl, opencl);
            test();
        }
        finally
        {
            if (savedCuda is not null) ComputeBackends.Register(ComputeBackends.Cuda, savedCuda);
            if (savedOpenCl is not null) ComputeBackends.Register(ComputeBackends.OpenCl, savedOpenCl);
        }
    }

    private static Func<IComputeBackend> Absent(string why) => () => throw new InvalidOperationException(why);

    [Fact]
    public void Auto_takes_cuda_before_opencl_behind_a_cpu_fallback()
    {
        WithDevices(() => new CombineFailingBackend("cuda"), () => new CombineFailingBackend("opencl"), () =>
        {
            using var auto = ComputeBackends.Create("auto");
            var wrapped = Assert.IsType<FallbackBackend>(auto);
            Assert.Equal("cuda", wrapped.Primary.Name);
            Assert.IsType<CpuBackend>(wrapped.Fallback);
        });
    }

    [Fact]
    public void Auto_passes_over_a_device_that_cannot_start_and_logs_why()
    {
        var logger = new RecordingLogger();
        WithDevices(Absent("no CUDA driver in this test"), () => new CombineFailingBackend("opencl"), () =>
        {
            using var auto = ComputeBackends.Create("auto", logger);
            Assert.Equal("opencl", Assert.IsType<FallbackBackend>(auto).Primary.Name);
        });
        var line = Assert.Single(logger.Entries);
        Assert.Equal(LogLevel.Information, line.Level);
        Assert.Equal("backend auto: cuda unavailable (no CUDA driver in this test)", line.Message);

        var both = new RecordingLogger();
        WithDevices(Absent("no CUDA driver in this test"), Absent("no OpenCL platform in this test"), () =>
        {
            using var auto = ComputeBackends.Create("auto", both);
            Assert.IsType<CpuBackend>(auto);
        });
        Assert.Equal(
            ["backend auto: cuda unavailable (no CUDA driver in this test)", "backend auto: opencl unavailable (no OpenCL platform in this test)"],
            both.Entries.Select(e => e.Message).ToArray());
    }

    [Fact]
    public void A_named_device_that_cannot_start_is_invalid_input_under_the_callers_field()
    {
        WithDevices(Absent("driver too old"), () => throw new InvalidInputException("opencl: refused as given"), () =>
        {
            var error = Assert.Throws<InvalidInputException>(() => ComputeBackends.Create("CUDA", field: "--backend"));
            Assert.Equal("--backend: \"cuda\" could not start: driver too old", error.Message);
            Assert.Equal("driver too old", Assert.IsType<InvalidOperationException>(error.InnerException).Message);

            // The factory's own input error is already the caller's: it passes through as it was.
            var own = Assert.Throws<InvalidInputException>(() => ComputeBackends.Create("opencl", field: "--backend"));
            Assert.Equal("opencl: refused as given", own.Message);
            Assert.Null(own.InnerException);
        });
    }

    [Fact]
    public void The_callers_logger_hears_of_a_device_failure_and_the_round_ends_on_cpu_with_the_same_results()
    {
        var logger = new RecordingLogger();
        const int n = 5, d = 9;
        var batch = new DomainBatch(n, d);
        for (var r = 0; r < n; r++)
        for (var c = 0; c < d; c++)
            batch.Row(r)[c] = r * 0.5f - c * 0.25f;
        batch.MarkChanged();
        int[] rows = [0, 1, 2, 3, 4];
        double[] weights = [0.1, 0.2, 0.3, 0.2, 0.2];
        var expected = new float[d];
        using (var cpu = new CpuBackend()) cpu.Combine(batch, rows, weights, AggregationMethod.TrimmedMean, 0.2, false, expected, default, null);

        WithDevices(() => new CombineFailingBackend("cuda", fail: true), () => new CombineFailingBackend("opencl"), () =>
        {
            using var backend = ComputeBackends.Create("cuda", logger);
            var aggregate = new float[d];
            backend.Combine(batch, rows, weights, AggregationMethod.TrimmedMean, 0.2, false, aggregate, default, null);
            Assert.Equal(expected, aggregate);
            Assert.Equal("cpu", Assert.IsType<FallbackBackend>(backend).ActiveName);
        });
        var warning = Assert.Single(logger.AtLeast(LogLevel.Warning));
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Equal("backend cuda: Combine failed (device lost); finishing the round on cpu", warning.Message);
        Assert.Equal("device lost", warning.Exception?.Message);
    }

    [Fact]
    public void The_device_a_backend_starts_on_is_logged_to_the_callers_logger()
    {
        // The shipped ILGPU factory: it names the device it picked (it was given no logger, and the line was lost).
        var logger = new RecordingLogger();
        using (ComputeBackends.Create("ilgpu-cpu", logger))
        {
        }
        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Information && e.Message.StartsWith("ilgpu-cpu: using ", StringComparison.Ordinal));

        // A registered factory that takes a logger gets the caller's, named or through auto.
        var savedCuda = ComputeBackends.FactoryOf(ComputeBackends.Cuda);
        try
        {
            ComputeBackends.Register(ComputeBackends.Cuda, (ILogger log) =>
            {
                log.LogInformation("cuda: using the stub");
                return new CombineFailingBackend("cuda");
            });
            foreach (var name in new[] { " CUDA ", "auto" })
            {
                var caller = new RecordingLogger();
                using (ComputeBackends.Create(name, caller))
                {
                }
                Assert.Contains(caller.Entries, e => e.Message == "cuda: using the stub");
            }
        }
        finally
        {
            if (savedCuda is not null) ComputeBackends.Register(ComputeBackends.Cuda, savedCuda);
        }
    }
}
