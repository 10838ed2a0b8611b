using Meta.Gpu.Cli;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Cli;

/// <summary>
/// Values on the edge of what an option takes: --ack-wait's least, 0.1 s, is itself taken (README: a shorter wait
/// is exit 2 naming it); a whole number with two signs is not a whole number rather than one out of range.
/// </summary>
public sealed class OptionEdgeValueTests
{
    [Fact]
    public async Task An_ack_wait_of_exactly_a_tenth_of_a_second_is_taken()
    {
        // Taken, serve goes on to dial the broker: port 1 refuses at once, and that is the error.
        var (code, _, error) = await CliRun.RunAsync("", "serve", "--bus", "nats://127.0.0.1:1", "--backend", "cpu",
            "--connect-timeout", "1", "--ack-wait", "0.1");

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.DoesNotContain("--ack-wait", error, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1:1", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("+-5")]
    [InlineData("-+5")]
    public async Task A_whole_number_with_two_signs_is_not_a_whole_number(string value)
    {
        var (code, output, error) = await CliRun.RunAsync("", "bench", "--quick", "--n", value);

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.Equal("", output);
        Assert.Equal($"meta-gpu: --n: '{value}' is not a whole number (see 'meta-gpu --help')", error.Trim());
    }
}
