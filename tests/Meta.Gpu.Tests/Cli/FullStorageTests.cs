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
    private SmallTmpfs? _tmpfs;

    public void Dispose() => _tmpfs?.Dispose();

    /// <summary>A full tmpfs; its folder for the storage root.</summary>
    private string FullStorageRoot()
    {
        _tmpfs = SmallTmpfs.MountOrSkip(Path.Combine(Path.GetTempPath(), "meta-gpu-full-storage-" + Guid.NewGuid().ToString("N")[..8]));
        _tmpfs.Fill();
        return Path.Combine(_tmpfs.Path, "store");
    }

    [Fact]
    public void The_lock_on_a_folder_of_a_full_disk_is_taken_and_released_without_an_error()
    {
        var root = FullStorageRoot();
        var held = StorageRootLock.Acquire(root);
        held.Dispose();
        using var again = StorageRootLock.Acquire(root);
    }

    [Fact]
    public async Task Serve_on_a_full_disk_with_the_broker_out_of_reach_is_the_one_line_error_naming_the_broker()
    {
        var root = FullStorageRoot();
        // Port 1 refuses at once.
        var (code, _, error) = await CliRun.RunAsync("", "serve", "--bus", "nats://127.0.0.1:1", "--connect-timeout", "1", "--backend", "cpu", "--storage", root);
        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.Contains("not reachable", error, StringComparison.Ordinal);
        Assert.Single(error.Trim().Split('\n'));
    }
}
