using Meta.Gpu.Cli;

namespace Meta.Gpu.Nats.Tests;

/// <summary>
/// A subject prefix in the names NATS keeps for itself was taken: `--prefix '$JS'` put the bus's topics under
/// JetStream's own subjects (its API is <c>$JS.API.&gt;</c>, and a topic is any dotted name), `$O` under the object
/// stores the bus keeps large vectors in, `$KV` under the key-value buckets (streams, whose subjects JetStream keeps
/// apart from the bus's), `$SYS` under the server's system services, and `_INBOX` under the replies to the bus's own
/// requests and publishes. Refused before anything is dialled, naming the option.
/// </summary>
public sealed class ReservedPrefixTests
{
    public static TheoryData<string> Reserved => ["$JS", "$KV", "$O", "$SYS", "$G", "$", "_INBOX"];

    [Theory]
    [MemberData(nameof(Reserved))]
    public void The_bus_options_refuse_a_reserved_prefix_naming_subject_prefix(string prefix)
    {
        var error = Assert.Throws<InvalidInputException>(() => new NatsBusOptions { SubjectPrefix = prefix }.Validated());
        Assert.StartsWith($"subject_prefix: '{prefix}' is not a valid subject prefix (", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Reserved))]
    public async Task Serve_and_domain_refuse_a_reserved_prefix_with_exit_2_naming_prefix(string prefix)
    {
        var storage = Directory.CreateTempSubdirectory("meta-gpu-reserved-").FullName;
        try
        {
            // Nothing listens there: the refusal must come before the broker is dialled.
            string[][] commands =
            [
                ["serve", "--bus", "nats://127.0.0.1:9", "--prefix", prefix, "--storage", storage, "--backend", "cpu"],
                ["domain", "--bus", "nats://127.0.0.1:9", "--prefix", prefix, "--id", "domain-000"],
            ];
            foreach (var args in commands)
            {
                var error = new StringWriter();
                var code = await MetaGpuApp.RunAsync(args, new CliConsole(TextReader.Null, new StringWriter(), error)).WaitAsync(TimeSpan.FromSeconds(60));
                Assert.True(code == MetaGpuApp.ExitUserError, $"{args[0]}: exit {code}: {error}");
                Assert.StartsWith($"meta-gpu: --prefix: '{prefix}' is not a valid subject prefix (", error.ToString(), StringComparison.Ordinal);
                Assert.Single(error.ToString().Trim().Split('\n'));
            }
        }
        finally
        {
            Directory.Delete(storage, recursive: true);
        }
    }

    [Theory]
    [InlineData("JS")]
    [InlineData("inbox")]
    [InlineData("_inbox_run")]
    [InlineData("run$1")]
    public void A_prefix_that_only_resembles_one_is_taken(string prefix)
    {
        new NatsBusOptions { SubjectPrefix = prefix }.Validated();
    }
}
