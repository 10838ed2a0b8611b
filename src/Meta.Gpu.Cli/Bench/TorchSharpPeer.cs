using System.Runtime.CompilerServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Gpu.Cli.Bench;

/// <summary>
/// The TorchSharp CPU peer on the same data in the same process: torch.sort over the domain axis then the mean of
/// the kept rows (trimmed mean), the mean of the two middle sorted rows (median, the engine's definition),
/// p @ X (weighted mean), lerp_ in place (Reptile step), trimmed mean then lerp_ (fused). libtorch's own threads
/// (its default: every core).
/// </summary>
/// <remarks>
/// TorchSharp is touched only inside <see cref="RunTorch"/>, which is never inlined: when libtorch is absent (the
/// GPU machine's pack strips it) or fails to load, the peer is reported skipped with the loader's reason and the
/// rest of <c>meta-gpu bench</c> runs on. The batch is copied once into a tensor before timing (not timed). After
/// each workload's timed calls, one more call from the original prior gives its result (<see cref="PeerTimes.Result"/>),
/// which <see cref="PeerAgreement"/> checks against the engine's.
/// </remarks>
public static class TorchSharpPeer
{
    public static PeerRun Run(BenchData data, IReadOnlyList<string> workloads, BenchOptions options)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(workloads);
        ArgumentNullException.ThrowIfNull(options);
        try
        {
            return RunTorch(data, workloads, options);
        }
        catch (Exception e) when (LoadFailure(e) is { } reason)
        {
            return PeerRun.Skip(BenchBackends.TorchSharp, $"libtorch failed to load: {reason}");
        }
    }

    /// <summary>The reason when <paramref name="e"/> is libtorch (or its wrapper) failing to load, else null.</summary>
    public static string? LoadFailure(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
            if (inner is DllNotFoundException or BadImageFormatException or EntryPointNotFoundException
                || (inner is NotSupportedException && inner.Message.Contains("libtorch", StringComparison.OrdinalIgnoreCase))
                || (inner is TypeInitializationException t && t.TypeName?.StartsWith("TorchSharp", StringComparison.Ordinal) == true && t.InnerException is null))
                return inner.Message.ReplaceLineEndings(" ");
        return null;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static PeerRun RunTorch(BenchData data, IReadOnlyList<string> workloads, BenchOptions options)
    {
        int n = data.N, d = data.D;
        var k = (int)Math.Floor(options.TrimAlpha * n);
        var beta = options.Beta;
        var flat = new float[(long)n * d];
        for (var row = 0; row < n; row++) data.Batch.Row(row).CopyTo(flat.AsSpan(row * d, d));
        var sum = data.Batch.Confidences.Sum();
        var p = data.Batch.Confidences.Select(c => (float)(c / sum)).ToArray();

        using var x = torch.tensor(flat, [n, d]);
        flat = null;
        using var weights = torch.tensor(p, [n]);
        using var prior = torch.tensor((float[])data.Prior.Clone(), [d]);
        using var prior0 = torch.tensor((float[])data.Prior.Clone(), [d]);
        using var target = x[0].clone();

        Tensor TrimmedMean()
        {
            var (sorted, indices) = torch.sort(x, 0);
            using (indices)
            using (sorted)
            using (var kept = sorted.narrow(0, k, n - 2 * k))
                return kept.mean([0]);
        }

        Tensor Median()
        {
            var (sorted, indices) = torch.sort(x, 0);
            using (indices)
            using (sorted)
            using (var lo = sorted[(n - 1) / 2])
            using (var hi = sorted[n / 2])
            {
                // mul_ returns the tensor it scaled: disposing the sum here handed back a disposed result.
                var total = lo + hi;
                return total.mul_(0.5f);
            }
        }

        // Each method returns its result as a new tensor, or null when it is the prior, stepped in place.
        var table = new Dictionary<string, Func<Tensor?>>(StringComparer.Ordinal)
        {
            [BenchWorkloads.TrimmedMean] = TrimmedMean,
            [BenchWorkloads.Median] = Median,
            [BenchWorkloads.WeightedMean] = () => torch.matmul(weights, x),
            [BenchWorkloads.ReptileStep] = () =>
            {
                prior.lerp_(target, beta);
                return null;
            },
            [BenchWorkloads.FusedTrimmedMeanReptile] = () =>
            {
                using var aggregate = TrimmedMean();
                prior.lerp_(aggregate, beta);
                return null;
            },
        };

        // After the timed calls, which stepped the prior again and again: one call from the original prior, the
        // result PeerAgreement checks against the engine's.
        float[] Result(Func<Tensor?> method)
        {
            prior.copy_(prior0);
            using var result = method();
            return (result ?? prior).data<float>().ToArray();
        }

        var results = new Dictionary<string, PeerTimes>(StringComparer.Ordinal);
        foreach (var workload in workloads)
            results[workload] = table.TryGetValue(workload, out var method)
                ? new PeerTimes(Stopwatches.Time(() => method()?.Dispose(), options.Warmup, options.Repeats, options.RowBudget), null) { Result = Result(method) }
                : new PeerTimes([], $"the torchsharp peer has no {workload}");
        var version = typeof(torch).Assembly.GetName().Version?.ToString(3) ?? "?";
        return new PeerRun(BenchBackends.TorchSharp, null, $"TorchSharp {version} (libtorch CPU, {torch.get_num_threads()} threads)", null, results);
    }
}
