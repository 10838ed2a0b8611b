using Meta.Gpu.Cli;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Cli;

/// <summary>
/// `serve` against a broker out of reach exits 2 with one line. A `--storage` folder it made for the run (with any
/// parent folders it made) is removed again (nothing was saved in it; a mistyped `--bus` left it behind with its lock file); a folder that was there
/// before is left as it was.
/// </summary>
public sealed class ServeUnreachableStorageTests : IDisposable
{
    private readonly string _parent = Directory.CreateTempSubdirectory("serve-unreachable-").FullName;

    public void Dispose() => Directory.Delete(_parent, recursive: true);

    private static Task<(int Code, string Output, string Error)> Serve(string root) =>
        // Port 1 refuses at once.
        CliRun.RunAsync("", "serve", "--bus", "nats://127.0.0.1:1", "--connect-timeout", "1", "--backend", "cpu", "--storage", root);

    [Fact]
    public async Task A_storage_folder_made_for_the_run_is_removed_when_the_broker_cannot_be_reached()
    {
        var root = Path.Combine(_parent, "new", "store");

        var (code, _, error) = await Serve(root);

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.Contains("not reachable", error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_parent, "new")), $"{root} (or the folder made for it) was left behind");
    }

    [Fact]
    public async Task A_storage_folder_that_was_there_is_kept_with_what_it_holds()
    {
        var root = Path.Combine(_parent, "kept");
        Directory.CreateDirectory(root);
        File.WriteAllText(Path.Combine(root, "note.txt"), "mine");

        var (code, _, _) = await Serve(root);

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.Equal("mine", File.ReadAllText(Path.Combine(root, "note.txt")));
    }
}
