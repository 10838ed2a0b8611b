using Meta.Gpu.Cli;

namespace Meta.Gpu.Nats.Tests;

/// <summary>
/// A `--prefix` the broker cannot name a stream after (a path separator, or so long that the stream name passes the
/// broker's 255 bytes) was taken as valid: `serve` then failed at its subscription with the broker's words ("Stream
/// name can not contain path separators", "stream name is too long") and no word of `--prefix`. Refused up front,
/// naming `--prefix` (`domain` and the bus demo: Meta.Gpu.TorchSharp.Tests.Bus.UnusablePrefixTests).
/// </summary>
public sealed class UnusablePrefixTests(NatsServerFixture fixture) : IClassFixture<NatsServerFixture>
{
    [Theory]
    [InlineData("run/1")]
    [InlineData(@"run\1")]
    [InlineData("pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp")]
    public async Task Serve_with_a_prefix_no_stream_can_be_named_after_is_exit_2_naming_prefix(string prefix)
    {
        var server = fixture.Require();
        var storage = Directory.CreateTempSubdirectory("meta-gpu-prefix-").FullName;
        try
        {
            string[] args = ["serve", "--bus", server.Url, "--prefix", prefix, "--storage", storage, "--backend", "cpu"];
            var error = new StringWriter();
            var code = await MetaGpuApp.RunAsync(args, new CliConsole(TextReader.Null, new StringWriter(), error)).WaitAsync(TimeSpan.FromSeconds(60));
            Assert.True(code == 2, $"exit {code}: {error}");
            Assert.StartsWith("meta-gpu: --prefix: ", error.ToString(), StringComparison.Ordinal);
            Assert.Single(error.ToString().Trim().Split('\n'));
        }
        finally
        {
            Directory.Delete(storage, recursive: true);
        }
    }
}
