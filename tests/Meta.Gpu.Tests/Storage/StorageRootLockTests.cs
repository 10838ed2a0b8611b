using Meta.Gpu.Cli;
using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Storage;

/// <summary>One writer per storage folder: two aggregators sharing one would each erase, on its next save, the
/// sequences the other had saved and acknowledged (DESIGN §10).</summary>
public sealed class StorageRootLockTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void A_held_root_refuses_a_second_writer_until_it_is_released()
    {
        var root = Path.Combine(_folder.Path, "store");
        using (var held = StorageRootLock.Acquire(root))
        {
            var error = Assert.Throws<StorageLockedException>(() => StorageRootLock.Acquire(root));
            Assert.Contains(root, error.Message, StringComparison.Ordinal);
            Assert.Contains("in use by another writer", error.Message, StringComparison.Ordinal);
            Assert.Equal(Path.Combine(root, StorageRootLock.FileName), held.Path);
        }
        using var again = StorageRootLock.Acquire(root);
        Assert.True(File.Exists(again.Path));
    }

    [Fact]
    public void A_root_that_is_a_file_is_refused_naming_it()
    {
        var file = Path.Combine(_folder.Path, "not-a-folder");
        File.WriteAllText(file, "x");
        var error = Assert.Throws<InvalidInputException>(() => StorageRootLock.Acquire(file));
        Assert.Contains("is a file, not a folder", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_on_a_storage_folder_another_writer_holds_is_exit_2_before_the_broker_is_dialled()
    {
        var root = Path.Combine(_folder.Path, "served");
        using var held = StorageRootLock.Acquire(root);
        // Port 1 refuses at once, should it ever get as far as dialling.
        var (code, _, error) = await CliRun.RunAsync("", "serve", "--bus", "nats://127.0.0.1:1", "--backend", "cpu", "--storage", root);
        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.Contains("in use by another writer", error, StringComparison.Ordinal);
        Assert.DoesNotContain("not reachable", error, StringComparison.Ordinal);
        Assert.Single(error.Trim().Split('\n'));
    }

    [Fact]
    public async Task Serve_with_a_storage_path_that_is_a_file_is_exit_2_naming_it()
    {
        var file = Path.Combine(_folder.Path, "prior-file");
        File.WriteAllText(file, "{}");
        var (code, _, error) = await CliRun.RunAsync("", "serve", "--bus", "nats://127.0.0.1:1", "--backend", "cpu", "--storage", file);
        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.Equal($"meta-gpu: {file}: the storage folder is a file, not a folder", error.Trim());
    }
}
