using System.Text.Json.Nodes;
using Meta.Gpu.Cli;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.TorchSharp.Tests;

public sealed class DemoCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "meta-gpu-demo-" + Guid.NewGuid().ToString("N"));

    private static async Task<(int Code, string Out, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await MetaGpuApp.RunAsync(args, new CliConsole(TextReader.Null, output, error));
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Demo_writes_demo_json_and_png_and_prints_the_table()
    {
        var (code, output, error) = await RunAsync("demo", "--meta-rounds", "4", "--domains", "3", "--held-out", "2", "--seed", "7", "--out", _dir);

        Assert.True(code == 0, error);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "demo.json")))!.AsObject();
        Assert.Equal(3, (int)json["domains"]!);
        Assert.Equal(4, (int)json["meta_rounds"]!);
        Assert.Equal(7, (int)json["seeds"]!["model_init"]!);
        Assert.Equal(8, (int)json["seeds"]!["train_tasks"]!);
        Assert.Equal(9, (int)json["seeds"]!["held_out_tasks"]!);
        Assert.False(string.IsNullOrEmpty((string?)json["backend"]));
        foreach (var start in new[] { "meta", "random", "joint" })
            Assert.True((double)json["mse"]![start]! > 0, start);
        Assert.True((double)json["elapsed_s"]! > 0);
        Assert.True((bool)json["governance"]!);

        var png = File.ReadAllBytes(Path.Combine(_dir, "demo.png"));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        Assert.Contains("meta-learned prior", output, StringComparison.Ordinal);
        Assert.Contains("random init", output, StringComparison.Ordinal);
        Assert.Contains("joint training", output, StringComparison.Ordinal);
        Assert.Contains("seeds model_init=7 train_tasks=8 held_out_tasks=9", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--domains", "0", "--domains")]
    [InlineData("--meta-rounds", "-1", "--meta-rounds")]
    [InlineData("--backend", "warp-drive", "warp-drive")]
    [InlineData("--beta", "1.5", "--beta")]
    [InlineData("--seed", "2147483647", "--seed")]
    public async Task Bad_arguments_exit_2_with_one_line_naming_them(string option, string value, string named)
    {
        var (code, _, error) = await RunAsync("demo", option, value, "--out", _dir);

        Assert.Equal(2, code);
        Assert.Contains(named, error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd().Split('\n'));
        Assert.False(File.Exists(Path.Combine(_dir, "demo.json")));
    }

    /// <summary>On a full disk (a tiny tmpfs, filled: needs root to mount, skipped otherwise) the outputs are whole or
    /// absent and the run is a one-line error, exit 2: the plain writes left a truncated demo.json and the IOException
    /// escaped as a stack trace.</summary>
    [Fact]
    public async Task On_a_full_disk_the_demo_exits_2_and_leaves_no_half_written_output()
    {
        using var tmpfs = SmallTmpfs.MountOrSkip(Path.Combine(_dir, "mnt"));
        tmpfs.Fill();
        var mount = tmpfs.Path;

        var (code, _, error) = await RunAsync("demo", "--meta-rounds", "2", "--domains", "2", "--held-out", "2", "--quiet", "--out", mount);

        Assert.False(File.Exists(Path.Combine(mount, "demo.json")), "demo.json was left behind");
        Assert.False(File.Exists(Path.Combine(mount, "demo.png")), "demo.png was left behind");
        Assert.Equal(2, code);
        Assert.StartsWith("meta-gpu: --out: cannot write the results", error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd().Split('\n'));
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }
}
