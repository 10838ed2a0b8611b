using Meta.Gpu.Cli;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Cli;

/// <summary>
/// `meta-gpu domain --id`: an id no update can carry is refused at once, naming the option. It was taken, the worker
/// connected and waited for the aggregator's prior, adapted, and only then failed to publish (a control character
/// cannot travel in the message id's header; a lone surrogate is refused by every lane).
/// </summary>
public sealed class DomainIdOptionTests
{
    [Theory]
    [InlineData("domain\t000", "control characters")]
    [InlineData("domain\n000", "control characters")]
    public Task An_id_with_a_control_character_is_exit_2_naming_the_option_before_the_broker_is_dialled(string id, string reason) =>
        RefusedAsync(id, reason);

    // Built in code: a test case's data loses a lone surrogate on its way to the test.
    [Fact]
    public Task An_id_with_a_lone_surrogate_is_exit_2_naming_the_option_before_the_broker_is_dialled() =>
        RefusedAsync("domain-" + (char)0xD800, "not well-formed Unicode");

    private static async Task RefusedAsync(string id, string reason)
    {
        // The port has no broker: an error about the broker would mean the id was taken.
        var (code, output, error) = await CliRun.RunAsync("", "domain", "--bus", "nats://127.0.0.1:1", "--id", id, "--connect-timeout", "1");
        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.Equal("", output);
        Assert.StartsWith("meta-gpu: --id: ", error, StringComparison.Ordinal);
        Assert.Contains(reason, error, StringComparison.Ordinal);
        Assert.DoesNotContain("not reachable", error, StringComparison.Ordinal);
    }
}
