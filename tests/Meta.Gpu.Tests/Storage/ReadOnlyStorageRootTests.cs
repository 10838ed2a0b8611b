using Meta.Gpu.Cli;
using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Storage;

/// <summary>
/// A storage root on a read-only file system (a tmpfs remounted read-only; needs root to mount, skipped otherwise)
/// that does not exist yet, as on a first run: taking the root's lock must refuse it as a folder that cannot be
/// written (<see cref="InvalidInputException"/>, a user error: one line, exit 2), as it refuses an existing root
/// there, not throw the bare IOException of creating the folder.
/// </summary>
public sealed class ReadOnlyStorageRootTests : IDisposable
{
    private SmallTmpfs? _tmpfs;

    public void Dispose() => _tmpfs?.Dispose();

    private string ReadOnlyMount()
    {
        _tmpfs = SmallTmpfs.MountOrSkip(Path.Combine(Path.GetTempPath(), "meta-gpu-readonly-" + Guid.NewGuid().ToString("N")[..8]));
        _tmpfs.MakeReadOnly();
        return _tmpfs.Path;
    }

    [Fact]
    public void A_root_to_create_on_a_read_only_file_system_is_refused_as_a_folder_that_cannot_be_written()
    {
        var root = Path.Combine(ReadOnlyMount(), "store");
        var error = Assert.Throws<InvalidInputException>(() => StorageRootLock.Acquire(root));
        Assert.StartsWith($"{root}: the storage folder cannot be written: ", error.Message, StringComparison.Ordinal);
        Assert.Contains("Read-only file system", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_with_a_storage_folder_to_create_on_a_read_only_file_system_is_exit_2_naming_it()
    {
        var root = Path.Combine(ReadOnlyMount(), "store");
        // Port 1 refuses at once, should it ever get as far as dialling.
        var (code, _, error) = await CliRun.RunAsync("", "serve", "--bus", "nats://127.0.0.1:1", "--backend", "cpu", "--storage", root);
        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.StartsWith($"meta-gpu: {root}: the storage folder cannot be written", error, StringComparison.Ordinal);
        Assert.Single(error.Trim().Split('\n'));
    }
}
