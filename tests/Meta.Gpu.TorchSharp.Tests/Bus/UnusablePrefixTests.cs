using Meta.Gpu.Cli;
using Meta.Gpu.Nats.Tests;

namespace Meta.Gpu.TorchSharp.Tests.Bus;

/// <summary>
/// A `--prefix` the broker cannot name a stream after (a path separator, or so long that the stream name passes the
/// broker's 255 bytes) was taken as valid: `domain` sat waiting for good for a prior that no aggregator on that
/// prefix can ever announce, and the bus demo failed at its subscription with the broker's words and no word of
/// `--prefix`. Refused up front, naming `--prefix`, as `serve` is (Meta.Gpu.Nats.Tests.UnusablePrefixTests).
/// </summary>
public sealed class UnusablePrefixTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("meta-gpu-review-prefix-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("domain", "run/1")]
    [InlineData("domain", @"run\1")]
    [InlineData("domain", "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp")]
    [InlineData("demo", "run/1")]
    [InlineData("demo", "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp")]
    public async Task A_prefix_no_stream_can_be_named_after_is_exit_2_naming_prefix(string command, string prefix)
    {
        await using var server = await NatsServer.StartAsync();
        string[] args = command == "domain"
            ? ["domain", "--bus", server.Url, "--prefix", prefix, "--id", "domain-000", "--quiet"]
            : ["demo", "--bus", server.Url, "--prefix", prefix, "--domains", "1", "--meta-rounds", "1", "--held-out", "1",
               "--storage", Path.Combine(_dir, "storage"), "--out", Path.Combine(_dir, "out"), "--round-timeout", "5", "--quiet"];
        var error = new StringWriter();
        // A domain on such a prefix waited for a prior for good: stopped here, as Ctrl-C would, after a while.
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var code = await MetaGpuApp.RunAsync(args, new CliConsole(TextReader.Null, new StringWriter(), error), stop.Token).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(code == MetaGpuApp.ExitUserError, $"exit {code}{(stop.IsCancellationRequested ? " after 10 s" : "")}: {error}");
        Assert.StartsWith("meta-gpu: --prefix: ", error.ToString(), StringComparison.Ordinal);
        Assert.Single(error.ToString().Trim().Split('\n'));
    }
}
