using Meta.Gpu.Cli;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Cli;

public sealed class UnknownCommandTests
{
    [Fact]
    public async Task A_mistyped_command_is_named_in_the_one_line_error()
    {
        // The parser's first error was "Required command was not provided.", which named nothing.
        var (code, _, error) = await CliRun.RunAsync("", "agregate", "in.json");

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.Contains("'agregate'", error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd().Split('\n'));
    }
}
