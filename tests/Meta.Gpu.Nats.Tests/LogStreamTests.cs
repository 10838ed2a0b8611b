using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Meta.Gpu.Storage;

namespace Meta.Gpu.Nats.Tests;

/// <summary>
/// The log lines of the long-running commands (`serve`, `domain`, `demo --bus`) belong on standard error, beside the
/// commands' error lines: the console logger wrote them to standard output, where they landed among the command's
/// own lines (the bus demo's table with `--quiet`, "only the table") for any script or file that reads it.
/// </summary>
public sealed class LogStreamTests
{
    [Fact]
    public async Task Serve_writes_its_warnings_to_standard_error_not_among_its_output()
    {
        await using var server = await NatsServer.StartAsync();
        var storage = Directory.CreateTempSubdirectory("meta-gpu-review-log-").FullName;
        var prefix = "w" + Guid.NewGuid().ToString("N")[..8];
        // A damaged prior with a good backup: serve starts from the backup, with a warning (README, Storage).
        var manager = new MetaStorageManager(new StorageConfig(storage));
        manager.SavePrior(new Dictionary<string, double> { ["tau"] = 0.9 });
        File.WriteAllText(manager.PriorPath, "{ damaged");

        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "meta-gpu.dll"), "serve", "--bus", server.Url, "--prefix", prefix, "--storage", storage, "--backend", "cpu" })
            info.ArgumentList.Add(a);
        using var serve = Process.Start(info)!;
        var output = new ConcurrentQueue<string>();
        var error = new ConcurrentQueue<string>();
        var serving = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        serve.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            output.Enqueue(e.Data);
            if (e.Data.StartsWith("serving on", StringComparison.Ordinal)) serving.TrySetResult();
        };
        serve.ErrorDataReceived += (_, e) => { if (e.Data is not null) error.Enqueue(e.Data); };
        serve.BeginOutputReadLine();
        serve.BeginErrorReadLine();
        try
        {
            await serving.Task.WaitAsync(TimeSpan.FromSeconds(60));
            using (var kill = Process.Start("kill", ["-TERM", serve.Id.ToString(CultureInfo.InvariantCulture)]))
                await kill!.WaitForExitAsync();
            await serve.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            serve.WaitForExit(); // flushes the redirected output

            Assert.True(serve.ExitCode == 0, $"exit {serve.ExitCode}: {string.Join(" | ", output)} || {string.Join(" | ", error)}");
            Assert.True(output.All(l => l.StartsWith("serving on", StringComparison.Ordinal) || l.StartsWith("stopped:", StringComparison.Ordinal)),
                $"standard output holds more than serve's own lines: {string.Join(" | ", output)}");
            Assert.Contains(error, l => l.Contains("loaded from backup", StringComparison.Ordinal));
        }
        finally
        {
            if (!serve.HasExited) serve.Kill(entireProcessTree: true);
            Directory.Delete(storage, recursive: true);
        }
    }
}
