using Meta.Gpu.Cli;

namespace Meta.Gpu.Nats.Tests;

/// <summary>
/// A broker address may carry credentials (<c>nats://USER:PASSWORD@HOST:PORT</c>, <c>nats://TOKEN@HOST:PORT</c>);
/// the commands print and log the address, and the secret must not go with it into terminals, logs and CI output.
/// </summary>
public sealed class BrokerCredentialsTests
{
    [Theory]
    [InlineData("nats://127.0.0.1:4222", "nats://127.0.0.1:4222")]
    [InlineData("nats://alice:s3cret@127.0.0.1:4222", "nats://alice:***@127.0.0.1:4222")]
    [InlineData("nats://t0ken@broker.example:4222", "nats://***@broker.example:4222")]
    [InlineData("tls://alice:p%40ss@broker.example", "tls://alice:***@broker.example")]
    [InlineData("nats://alice:p@ss@127.0.0.1:4222/", "nats://alice:***@127.0.0.1:4222/")]
    [InlineData("not an address", "not an address")]
    public void An_address_is_shown_without_its_secret(string url, string shown) =>
        Assert.Equal(shown, NatsBusOptions.Redacted(url));

    [Fact]
    public async Task An_unreachable_broker_is_named_without_the_password()
    {
        var port = NatsServer.FreePort();
        var error = new StringWriter();
        var code = await MetaGpuApp.RunAsync(["serve", "--bus", $"nats://alice:s3cret@127.0.0.1:{port}", "--connect-timeout", "1"],
            new CliConsole(TextReader.Null, new StringWriter(), error));
        Assert.Equal(2, code);
        Assert.Contains($"nats://alice:***@127.0.0.1:{port}", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_on_a_broker_that_requires_a_password_connects_and_does_not_print_it()
    {
        await using var server = await NatsServer.StartAsync(credentials: ("alice", "s3cret"));
        var storage = Directory.CreateTempSubdirectory("meta-gpu-serve-").FullName;
        try
        {
            var output = new StringWriter();
            var error = new StringWriter();
            using var stop = new CancellationTokenSource();
            var url = $"nats://alice:s3cret@127.0.0.1:{server.Port}";
            var serve = MetaGpuApp.RunAsync(["serve", "--bus", url, "--prefix", "c" + Guid.NewGuid().ToString("N")[..8], "--storage", storage, "--backend", "cpu"],
                new CliConsole(TextReader.Null, output, error), stop.Token);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (!output.ToString().Contains("serving on", StringComparison.Ordinal))
            {
                Assert.False(serve.IsCompleted, $"serve ended early: {error}");
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "serve did not start");
                await Task.Delay(100);
            }
            await stop.CancelAsync();
            Assert.Equal(0, await serve.WaitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains($"serving on nats://alice:***@127.0.0.1:{server.Port}", output.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain("s3cret", output.ToString() + error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(storage, recursive: true);
        }
    }
}
