using System.Diagnostics;
using System.Globalization;
using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Cli.Bench;

/// <summary>
/// Runs <c>meta-gpu bench</c>: the bandwidth reference, then, size by size, every engine backend and every peer on
/// the same data, then the host workloads (governance, bus, agent). The host's read stream is sampled again after
/// each host backend's rows and each size's peers, and every host row's share is of the fastest sample
/// (<see cref="HostReadSamples"/>). Nothing here writes files but the peers'
/// temporary data folder (deleted at the end); <see cref="BenchOutputs"/> writes the results.
/// </summary>
/// <remarks>
/// A device backend (<c>cuda</c>, <c>opencl</c>) has its device's read bandwidth measured once per run, when it
/// first starts (<see cref="DeviceBandwidthProbe"/>); each row's share of read divides by the reference
/// <see cref="ReadReference.For"/> picks (host memory for host rows, the device's for device rows and the PyTorch
/// peer). Engine backends run before the peers at each size, and <c>cuda</c> and <c>pytorch</c> always share a
/// size, so the <c>cuda</c> figure is known when the PyTorch rows are made. After an engine row's timed calls, one
/// more round gives the result the peers at that size are checked against (<see cref="EngineResults"/>); each peer
/// reports its own result after its timed calls, and its rows say whether the two agree (<see cref="PeerAgreement"/>).
/// </remarks>
public sealed class BenchHarness(BenchOptions options)
{
    private readonly BenchOptions _options = (options ?? throw new ArgumentNullException(nameof(options))).Validated();

    /// <summary>The standard configuration every dense figure is measured in (DESIGN §13), as reported.</summary>
    public string Configuration => string.Create(CultureInfo.InvariantCulture,
        $"dense DomainBatch, no mask, {WeightSetting}, {OutlierSetting}, diversity target 0.9 (host, N values), trim_alpha {_options.TrimAlpha}, Reptile interpolate beta {_options.Beta}{(_options.BaselineDeviceKernels ? "; device backends: every column through the combine kernel (baseline, --baseline-device-kernels)" : "")}; peers: uniform trimmed mean of the kept rows after a sort over the domain axis (the reference's approach), median, confidence-weighted mean, lerp");

    private string WeightSetting => _options.EqualWeights
        ? "confidence weights all 1.0 (--equal-weights: the weights of weighting=uniform)"
        : "confidence weights (uniform 0.3-1.0)";

    private string OutlierSetting => _options.OutlierFilter
        ? string.Create(CultureInfo.InvariantCulture,
            $"outlier filter on (--outlier-filter: z {CrossMetaConfig.Default.OutlierZ}, from {CrossMetaConfig.Default.OutlierMinDomains} domains; the peers have none and are skipped)")
        : "outlier filter off";

    /// <summary>Why peer rows are skipped in this run, or null.</summary>
    private const string NoPeerOutlierPass = "the peers have no outlier pass (--outlier-filter)";
    private const string NoPeerMethod = "the peer has no such method (no peer has a weighted median)";

    /// <summary>A peer asked for a workload it has no method for gets a row that says so, as an absent peer does:
    /// rows outside <see cref="Plan"/> (the progress total counts them too).</summary>
    public IReadOnlyList<BenchResult> PeerRowsWithoutMethod()
    {
        var o = _options;
        var rows = new List<BenchResult>();
        foreach (var peer in BenchBackends.Peers.Where(o.Backends.Contains))
        {
            foreach (var workload in BenchWorkloads.Dense.Where(w => o.Workloads.Contains(w) && !BenchWorkloads.PeerDense.Contains(w)))
            {
                var (n, d) = o.SizeFor(peer);
                rows.Add(BenchResult.Skip(workload, peer, n, d, NoPeerMethod));
            }
        }
        return rows;
    }

    /// <summary>The measured rows of this run, in order (besides <see cref="PeerRowsWithoutMethod"/>).</summary>
    public IReadOnlyList<BenchCase> Plan()
    {
        var o = _options;
        var cases = new List<BenchCase>();
        var dense = BenchWorkloads.Dense.Where(o.Workloads.Contains).ToList();
        var sizes = new List<(int N, int D)>();
        foreach (var backend in BenchBackends.All.Where(o.Backends.Contains))
        {
            var size = o.SizeFor(backend);
            if (!sizes.Contains(size)) sizes.Add(size);
        }
        // ilgpu-cpu runs small: put cpu beside it at that size so the two compare.
        var small = o.SizeFor(BenchBackends.IlgpuCpu);
        foreach (var (n, d) in sizes)
        {
            foreach (var backend in BenchBackends.Engine.Where(o.Backends.Contains))
            {
                var own = o.SizeFor(backend) == (n, d) || (backend == BenchBackends.Cpu && (n, d) == small && o.Backends.Contains(BenchBackends.IlgpuCpu));
                if (!own) continue;
                cases.AddRange(dense.Select(w => new BenchCase(w, backend, n, d)));
            }
            foreach (var peer in BenchBackends.Peers.Where(o.Backends.Contains))
                if (o.SizeFor(peer) == (n, d))
                    cases.AddRange(dense.Where(BenchWorkloads.PeerDense.Contains).Select(w => new BenchCase(w, peer, n, d)));
        }
        // The agent round is the keyed lane: N domains' policy packs of 4 knobs.
        var (sn, _) = o.SizeFor(BenchBackends.Cpu);
        foreach (var w in new[] { BenchWorkloads.GovernanceUpdate, BenchWorkloads.BusDelivery, BenchWorkloads.AgentRound })
            if (o.Workloads.Contains(w))
                cases.Add(w == BenchWorkloads.AgentRound ? new BenchCase(w, BenchBackends.Cpu, sn, 4) : new BenchCase(w, BenchBackends.Cpu, 1, 0));
        return cases;
    }

    public async Task<BenchReport> RunAsync(IBenchProgress progress, CancellationToken token)
    {
        ArgumentNullException.ThrowIfNull(progress);
        var started = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var o = _options;
        var plan = Plan();
        var machine = MachineInfo.Detect();

        progress.Starting($"read bandwidth ({o.BandwidthMegabytes} MB float32)");
        var bandwidthRepeats = o.Quick ? 2 : 5;
        var reads = new HostReadSamples(o.BandwidthMegabytes);
        var bandwidth = reads.First(bandwidthRepeats);
        progress.Note(string.Create(CultureInfo.InvariantCulture,
            $"read bandwidth {bandwidth.ReadGbs:0.00} GB/s, copy {bandwidth.CopyGbs:0.00} GB/s ({bandwidth.ArrayMegabytes} MB, {bandwidth.Threads} threads)"));

        var results = new List<BenchResult>();
        foreach (var row in PeerRowsWithoutMethod())
        {
            results.Add(row);
            progress.Completed(row);
        }
        var peers = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var devices = new SortedDictionary<string, DeviceBandwidthFigure>(StringComparer.Ordinal);
        foreach (var group in plan.Where(c => BenchWorkloads.IsDense(c.Workload)).GroupBy(c => (c.DataN, c.D)))
        {
            token.ThrowIfCancellationRequested();
            var cases = group.ToList();
            progress.Starting($"data {group.Key.DataN} x {group.Key.D}");
            var data = new BenchData(group.Key.DataN, group.Key.D, equalWeights: o.EqualWeights);
            var peerCases = cases.Where(c => BenchBackends.IsPeer(c.Backend)).ToList();
            // The engine's results the peers' are checked against: only where a peer will run beside them.
            var engineResults = peerCases.Count > 0 && !o.OutlierFilter ? new EngineResults() : null;
            foreach (var byBackend in cases.Where(c => !BenchBackends.IsPeer(c.Backend)).GroupBy(c => c.Backend))
            {
                RunEngine(byBackend.Key, byBackend.ToList(), data, reads.Fastest, devices, progress, results, engineResults, token);
                if (!DeviceBandwidthProbe.Measures(byBackend.Key)) SampleRead(reads, bandwidthRepeats, progress);
            }
            if (o.OutlierFilter)
            {
                foreach (var c in peerCases)
                {
                    var row = BenchResult.Skip(c.Workload, c.Backend, c.N, c.D, NoPeerOutlierPass);
                    results.Add(row);
                    progress.Completed(row);
                }
            }
            else if (peerCases.Count > 0)
            {
                await RunPeersAsync(peerCases, data, reads.Fastest, devices, progress, results, peers, engineResults!, token).ConfigureAwait(false);
                SampleRead(reads, bandwidthRepeats, progress);
            }
        }

        foreach (var c in plan.Where(c => !BenchWorkloads.IsDense(c.Workload)))
        {
            token.ThrowIfCancellationRequested();
            progress.Starting(c.Label);
            var row = c.Workload switch
            {
                BenchWorkloads.GovernanceUpdate => GovernanceWorkload.Run(o, reads.Fastest),
                BenchWorkloads.BusDelivery => await BusWorkload.RunAsync(o, token).ConfigureAwait(false),
                _ => await AgentRoundWorkload.RunAsync(o, c.N, token).ConfigureAwait(false),
            };
            results.Add(row);
            progress.Completed(row);
        }

        // Every host row's share is of the fastest sample of the run, whichever samples came before it.
        var read = reads.Fastest;
        if (reads.Samples.Count > 1)
            progress.Note(string.Create(CultureInfo.InvariantCulture,
                $"read bandwidth sampled {reads.Samples.Count} times ({string.Join(", ", reads.Samples.Select(g => g.ToString("0.00", CultureInfo.InvariantCulture)))} GB/s): every host row's share of read is of the fastest, {read:0.00} GB/s"));
        return new BenchReport(machine, read, bandwidth.CopyGbs, results.Select(r => r.WithHostRead(read)).ToList())
        {
            ReadBandwidthSamplesGbs = reads.Samples.ToList(),
            BandwidthArrayMb = bandwidth.ArrayMegabytes,
            BandwidthThreads = bandwidth.Threads,
            Configuration = Configuration,
            Peers = peers,
            DeviceBandwidth = devices,
            Quick = o.Quick,
            TrimAlpha = o.TrimAlpha,
            StartedUtc = started,
            ElapsedS = clock.Elapsed.TotalSeconds,
        };
    }

    /// <summary>Samples the host's read stream again (<see cref="HostReadSamples"/>) and says so when it is the
    /// fastest yet, so the rows printed from then on divide by it.</summary>
    private static void SampleRead(HostReadSamples reads, int repeats, IBenchProgress progress)
    {
        var before = reads.Fastest;
        progress.Starting("read bandwidth, sampled again");
        var read = reads.Take(repeats);
        if (read > before)
            progress.Note(string.Create(CultureInfo.InvariantCulture,
                $"read bandwidth sampled again: {read:0.00} GB/s, faster than before ({before:0.00}): host shares from here on, and all of them in the files, are of it"));
    }

    private void RunEngine(string name, List<BenchCase> cases, BenchData data, double hostReadGbs, SortedDictionary<string, DeviceBandwidthFigure> devices,
        IBenchProgress progress, List<BenchResult> results, EngineResults? engineResults, CancellationToken token)
    {
        progress.Starting($"{name}: starting the backend");
        var (backend, reason) = EngineBackends.TryCreate(name, _options.BaselineDeviceKernels);
        try
        {
            if (backend is not null && DeviceBandwidthProbe.Measures(name) && !devices.ContainsKey(name))
            {
                progress.Starting($"{name}: device read bandwidth ({_options.DeviceBandwidthMegabytes} MB float32)");
                var figure = DeviceBandwidthProbe.Measure(backend, _options.DeviceBandwidthMegabytes, _options.Quick ? 2 : 5);
                devices[name] = figure;
                progress.Note(DeviceBandwidthProbe.Describe(name, figure));
            }
            var reference = ReadReference.For(name, hostReadGbs, devices);
            foreach (var c in cases)
            {
                token.ThrowIfCancellationRequested();
                progress.Starting(c.Label);
                BenchResult row;
                if (backend is null)
                {
                    row = BenchResult.Skip(c.Workload, c.Backend, c.N, c.D, reason!);
                }
                else
                {
                    var workload = new DenseWorkload(c.Workload, backend, data, _options);
                    var times = Stopwatches.Time(workload.Run, _options.Warmup, _options.Repeats, _options.RowBudget);
                    // After the timed calls; before the fallback check, so that a device failing here is no one's reference.
                    var result = engineResults is not null && BenchWorkloads.PeerDense.Contains(c.Workload)
                        ? EngineResults.Compute(c.Workload, backend, data, _options)
                        : null;
                    row = EngineBackends.FellBack(backend) is { } fellBack
                        ? BenchResult.Skip(c.Workload, c.Backend, c.N, c.D, fellBack)
                        : BenchResult.Timed(c.Workload, c.Backend, c.N, c.D, times, workload.Bytes, reference)
                            .WithKernelTimes(workload.KernelMs.TakeLast(times.Length).ToList(), workload.Bytes, reference)
                          with { PriorUploads = workload.PriorUploads.Count == 0 ? null : workload.PriorUploads.TakeLast(times.Length).Sum() };
                    if (result is not null && row.Skipped is null) engineResults!.Add(c.Workload, name, result);
                }
                results.Add(row);
                progress.Completed(row);
            }
        }
        finally
        {
            backend?.Dispose();
        }
    }

    /// <summary>
    /// A peer workload no engine backend timed at this size (<c>--backends numpy</c>, or the engine backend absent)
    /// is still checked: against the <c>cpu</c> backend's result, made for the check alone and named so.
    /// </summary>
    private void CheckOnlyResults(List<BenchCase> cases, BenchData data, EngineResults engineResults, IBenchProgress progress)
    {
        var missing = cases.Select(c => c.Workload).Distinct().Where(w => engineResults.For(w).Count == 0).ToList();
        if (missing.Count == 0) return;
        progress.Starting("cpu: the engine's results for the peers' check (not timed)");
        var (cpu, _) = EngineBackends.TryCreate(BenchBackends.Cpu);
        if (cpu is null) return;
        using (cpu)
            foreach (var workload in missing)
                engineResults.Add(workload, $"{BenchBackends.Cpu} (not timed)", EngineResults.Compute(workload, cpu, data, _options));
    }

    /// <summary>The peer's own read and copy figures, for its line of the report.</summary>
    private static string OwnBandwidth(PeerRun run) =>
        run.ReadGbs is { } read
            ? string.Create(CultureInfo.InvariantCulture, $", its own read {read:0.0} GB/s{(run.CopyGbs is { } copy ? string.Create(CultureInfo.InvariantCulture, $", copy {copy:0.0} GB/s") : "")}")
            : run.BandwidthSkipped is { } why ? $", its own bandwidth not measured: {why}" : "";

    private async Task RunPeersAsync(List<BenchCase> cases, BenchData data, double hostReadGbs, SortedDictionary<string, DeviceBandwidthFigure> devices,
        IBenchProgress progress, List<BenchResult> results, SortedDictionary<string, string> peers, EngineResults engineResults, CancellationToken token)
    {
        var folder = Path.Combine(Path.GetTempPath(), $"meta-gpu-bench-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            CheckOnlyResults(cases, data, engineResults, progress);
            var needFiles = cases.Any(c => c.Backend is BenchBackends.Numpy or BenchBackends.PyTorch);
            if (needFiles)
            {
                progress.Starting("writing the peers' copy of the data");
                data.WritePeerFiles(folder);
            }
            foreach (var byPeer in cases.GroupBy(c => c.Backend))
            {
                var peerCases = byPeer.ToList();
                var workloads = peerCases.Select(c => c.Workload).ToList();
                progress.Starting($"{byPeer.Key}: {string.Join(", ", workloads)} at {data.N} x {data.D}");
                var run = byPeer.Key switch
                {
                    BenchBackends.Numpy => await PythonPeer.RunAsync(BenchBackends.Numpy, "numpy_peer.py", folder, data.N, data.D, workloads, _options, [], token).ConfigureAwait(false),
                    BenchBackends.PyTorch => await PythonPeer.RunAsync(BenchBackends.PyTorch, "pytorch_peer.py", folder, data.N, data.D, workloads, _options, ["--device", "cuda"], token).ConfigureAwait(false),
                    _ => TorchSharpPeer.Run(data, workloads, _options),
                };
                peers[byPeer.Key] = run.Skipped is { } why ? $"skipped: {why}" : $"{run.Version}{(run.Device is null ? "" : $" on {run.Device}")}{OwnBandwidth(run)}";
                if (DeviceBandwidthProbe.FromPeer(run) is { } own)
                {
                    devices[byPeer.Key] = own;
                    progress.Note(DeviceBandwidthProbe.Describe(byPeer.Key, own));
                }
                var reference = ReadReference.For(byPeer.Key, hostReadGbs, devices);
                foreach (var c in peerCases)
                {
                    BenchResult row;
                    if (run.Skipped is { } reason)
                        row = BenchResult.Skip(c.Workload, c.Backend, c.N, c.D, reason);
                    else if (!run.Results.TryGetValue(c.Workload, out var times))
                        row = BenchResult.Skip(c.Workload, c.Backend, c.N, c.D, $"{c.Backend} reported nothing for {c.Workload}");
                    else if (times.Skipped is { } r)
                        row = BenchResult.Skip(c.Workload, c.Backend, c.N, c.D, r);
                    else
                        row = PeerAgreement.Check(
                            BenchResult.Timed(c.Workload, c.Backend, c.N, c.D, times.TimesMs, (long)c.N * c.D * sizeof(float), reference),
                            times, engineResults.For(c.Workload));
                    results.Add(row);
                    progress.Completed(row);
                }
            }
        }
        finally
        {
            try
            {
                if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A leftover temp folder costs disk, not the run's results: said, not fatal.
                progress.Note($"could not remove the peers' temporary folder {folder}: {e.Message}");
            }
        }
    }
}
