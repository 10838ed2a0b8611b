using Meta.Gpu.Cli;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Cli;

/// <summary>README: a user error is "reported on one line that names the field or line", also when what it names
/// holds a line break (a file name may).</summary>
public sealed class OneLineErrorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("one-line-error-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("aggregate")]
    [InlineData("govern")]
    [InlineData("conformance")]
    public async Task A_missing_file_whose_name_holds_a_line_break_is_said_on_one_line(string command)
    {
        var missing = Path.Combine(_dir, "two\nlines.json");

        var (code, output, error) = await CliRun.RunAsync("", command, missing);

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.Equal("", output);
        Assert.Single(error.TrimEnd().Split('\n'));
        Assert.Contains(Path.Combine(_dir, "two lines.json"), error, StringComparison.Ordinal);
    }
}
