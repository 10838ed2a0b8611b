using System.Diagnostics;
using System.Text;
using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Tests.Storage;

/// <summary>
/// End-to-end crash safety (DESIGN §11): a real process saving priors in a loop (`meta-gpu storage-soak`) is
/// killed mid-loop; what it leaves must load whole — the last save or the one before — straight from the main
/// files, with no fallback needed.
/// </summary>
public sealed class KilledWriterTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task A_writer_killed_mid_loop_leaves_whole_priors()
    {
        for (var attempt = 0; attempt < 2; attempt++)
        {
            // Two runs, killed at different points of their loops.
            var root = Path.Combine(_folder.Path, $"store{attempt}");
            await RunAndKillAsync(root, killAfterIteration: 2 + 3 * attempt);

            var logger = new RecordingLogger();
            var storage = new MetaStorageManager(new StorageConfig(root), logger);
            var prior = storage.LoadPrior();
            Assert.NotNull(prior);
            var iteration = prior["iteration"];
            Assert.Equal(65, prior.Count);
            Assert.All(prior.Values, v => Assert.Equal(iteration, v));

            var dense = storage.LoadDensePrior();
            Assert.NotNull(dense);
            Assert.InRange(dense.Round, (long)iteration - 1, (long)iteration);
            Assert.Equal(DenseD, dense.D);
            Assert.All(dense.Values, v => Assert.Equal(dense.Round, v));
            Assert.Equal(dense.Round, dense.LastSequences["soak"]);

            Assert.Empty(logger.AtLeast(LogLevel.Warning));
        }
    }

    private const int DenseD = 131_072;

    private static async Task RunAndKillAsync(string root, int killAfterIteration)
    {
        var cli = CliRun.Assembly;
        Assert.True(File.Exists(cli), $"{cli} is missing (the test project references Meta.Gpu.Cli)");
        var start = new ProcessStartInfo(CliRun.DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { cli, "storage-soak", "--root", root, "--count", "1000000", "--d", DenseD.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            start.ArgumentList.Add(arg);

        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        Assert.True(process.Start());
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var reader = new MetaStorageManager(new StorageConfig(root));
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                if (process.HasExited)
                {
                    lock (output) Assert.Fail($"storage-soak exited early with {process.ExitCode}: {output}");
                }
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), "storage-soak made no progress in 60 s");
                if (File.Exists(reader.PriorPath) && reader.LoadPrior() is { } prior && prior["iteration"] >= killAfterIteration)
                    break;
                await Task.Delay(5);
            }
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
    }
}
