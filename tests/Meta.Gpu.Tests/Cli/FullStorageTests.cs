using System.Diagnostics;
using Meta.Gpu.Cli;
using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Cli;

/// <summary>
/// A `--storage` folder on a full file system (a tiny tmpfs, filled: needs root to mount, skipped otherwise). The
/// storage lock's process-id line could not be written there; it stayed in the lock file's buffer, and releasing the
/// lock threw the IOException again, so that `serve` on such a folder ended with a stack trace (exit 134) whatever
/// else happened: its one-line error (a broker out of reach) was lost, and a Ctrl-C stop did not exit 0.
/// </summary>
public sealed class FullStorageTests : IDisposable
{
    private readonly string _mount = Path.Combine(Path.GetTempPath(), "meta-gpu-review-full-" + Guid.NewGuid().ToString("N")[..8]);
    private bool _mounted;

    public void Dispose()
    {
        if (_mounted) Run("umount", "-l", _mount);
        try { Directory.Delete(_mount, recursive: true); } catch (IOException) { }
    }

    private static int Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        p.WaitForExit();
        return p.ExitCode;
    }

    private void MountFull()
    {
        Directory.CreateDirectory(_mount);
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root" || Run("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", _mount) != 0)
            Assert.Skip("needs root on Linux to mount a small tmpfs");
        _mounted = true;
        using var filler = new FileStream(Path.Combine(_mount, "filler"), FileMode.Create, FileAccess.Write, FileShare.None, 1);
        try
        {
            while (true) filler.Write(new byte[4096]);
        }
        catch (IOException)
        {
            // Full: only empty files can be made now.
        }
    }

    [Fact]
    public void The_lock_on_a_folder_of_a_full_disk_is_taken_and_released_without_an_error()
    {
        MountFull();
        var root = Path.Combine(_mount, "store");
        var held = StorageRootLock.Acquire(root);
        held.Dispose();
        using var again = StorageRootLock.Acquire(root);
    }

    [Fact]
    public async Task Serve_on_a_full_disk_with_the_broker_out_of_reach_is_the_one_line_error_naming_the_broker()
    {
        MountFull();
        var root = Path.Combine(_mount, "store");
        // Port 1 refuses at once.
        var (code, _, error) = await CliRun.RunAsync("", "serve", "--bus", "nats://127.0.0.1:1", "--connect-timeout", "1", "--backend", "cpu", "--storage", root);
        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.Contains("not reachable", error, StringComparison.Ordinal);
        Assert.Single(error.Trim().Split('\n'));
    }
}
