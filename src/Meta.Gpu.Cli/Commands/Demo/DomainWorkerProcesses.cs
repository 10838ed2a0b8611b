using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Meta.Gpu.Cli.Commands.Demo;

/// <summary>
/// The domain worker processes `meta-gpu demo --bus --workers N` starts: this same tool run as
/// <c>meta-gpu domain</c>, one per domain. A worker that exits with an error before the run ends cancels
/// <see cref="Failed"/> with its last lines, so the aggregator stops at once instead of timing out.
/// </summary>
internal sealed class DomainWorkerProcesses : IAsyncDisposable
{
    private readonly List<(string Id, Process Process, ConcurrentQueue<string> Tail)> _workers = [];
    private readonly CancellationTokenSource _failed = new();
    private volatile bool _stopping;

    /// <summary>Cancelled when a worker fails; <see cref="Failure"/> says which and why.</summary>
    public CancellationToken Failed => _failed.Token;

    public string? Failure { get; private set; }

    public static DomainWorkerProcesses Start(IEnumerable<string> domainIds, IReadOnlyList<string> sharedArguments)
    {
        var processes = new DomainWorkerProcesses();
        var (fileName, prefix) = SelfCommand();
        try
        {
            foreach (var id in domainIds)
            {
                // Standard input is a pipe nothing is written to: it closes when this process ends, however it ends,
                // and the worker then stops (a worker of a demo killed with -9 waited for a prior for good).
                var info = new ProcessStartInfo(fileName) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                foreach (var a in prefix.Concat(["domain", "--id", id, "--quiet", DomainCommand.UntilStdinClosesOption]).Concat(sharedArguments)) info.ArgumentList.Add(a);
                var process = new Process { StartInfo = info, EnableRaisingEvents = true };
                var tail = new ConcurrentQueue<string>();
                DataReceivedEventHandler keep = (_, e) =>
                {
                    if (e.Data is null) return;
                    tail.Enqueue(e.Data);
                    while (tail.Count > 5) tail.TryDequeue(out string? _);
                };
                process.OutputDataReceived += keep;
                process.ErrorDataReceived += keep;
                process.Exited += (_, _) => processes.OnExited(id, process, tail);
                process.Start();
                process.BeginOutputReadLine();
                process.BeginErrorReadLine();
                processes._workers.Add((id, process, tail));
            }
        }
        catch
        {
            processes.KillAll();
            throw;
        }
        return processes;
    }

    /// <summary>This tool as a command line: its own executable when it runs as the <c>meta-gpu</c> app host,
    /// otherwise <c>dotnet</c> with its assembly (run as <c>dotnet meta-gpu.dll</c>, or hosted by another program).</summary>
    private static (string FileName, string[] Prefix) SelfCommand()
    {
        var assembly = typeof(MetaGpuApp).Assembly.Location;
        var process = Environment.ProcessPath;
        if (process is not null && string.Equals(Path.GetFileNameWithoutExtension(process), Path.GetFileNameWithoutExtension(assembly), StringComparison.Ordinal))
            return (process, []);
        var dotnet = process is not null && Path.GetFileNameWithoutExtension(process) == "dotnet" ? process : "dotnet";
        return (dotnet, [assembly]);
    }

    private void OnExited(string id, Process process, ConcurrentQueue<string> tail)
    {
        if (_stopping || process.ExitCode == 0) return;
        Failure = string.Create(CultureInfo.InvariantCulture,
            $"domain worker {id} exited with code {process.ExitCode}: {string.Join(" | ", tail)}");
        try
        {
            _failed.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Disposed meanwhile: the run is over.
        }
    }

    /// <summary>Waits up to <paramref name="grace"/> for the workers to finish (they stop after the last round),
    /// then ends the ones still running.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        _stopping = true;
        using var timeout = new CancellationTokenSource(grace);
        foreach (var (_, process, _) in _workers)
        {
            try
            {
                await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        KillAll();
    }

    private void KillAll()
    {
        _stopping = true;
        foreach (var (_, process, _) in _workers)
        {
            try
            {
                if (!process.HasExited) process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It exited meanwhile.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        KillAll();
        foreach (var (_, process, _) in _workers)
        {
            await process.WaitForExitAsync().ConfigureAwait(false);
            process.Dispose();
        }
        _failed.Dispose();
    }
}
