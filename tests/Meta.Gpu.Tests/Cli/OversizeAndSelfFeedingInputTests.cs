using System.Diagnostics;
using Meta.Gpu.Cli;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Cli;

/// <summary>Inputs of `aggregate`, `govern` and `conformance` that ran for ever or died with "Out of memory." or a
/// stack trace (exit 134): each is a one-line error naming the input, exit 2.</summary>
public sealed class OversizeAndSelfFeedingInputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cli-review-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Govern_refuses_a_policy_log_that_is_its_standard_input()
    {
        // `govern --policy-log log.jsonl < log.jsonl` read back the lines it appended, for ever (115 MB in ten
        // seconds), where the same file given by path is refused. Run through a shell, so that standard input is
        // the file itself; a regression is killed at the limit.
        if (!OperatingSystem.IsLinux()) Assert.Skip("standard input's file is read from /proc");
        var log = Path.Combine(_dir, "log.jsonl");
        File.WriteAllText(log, "{\"accept_rate\": 0.1}\n");
        foreach (var input in new[] { "", "-" })
        {
            var (finished, code, _, error) = await Shell(TimeSpan.FromSeconds(20),
                $"exec \"{CliRun.DotnetHost()}\" \"{CliRun.Assembly}\" govern --policy-log \"{log}\" {input} < \"{log}\" > /dev/null");

            Assert.True(finished, "govern read its own log back for ever");
            Assert.Equal(MetaGpuApp.ExitUserError, code);
            Assert.Equal($"meta-gpu: --policy-log {log}: is the standard input; the log's lines would be read back as input", error.Trim());
            Assert.Single(File.ReadAllLines(log));
        }
    }

    [Fact]
    public async Task Govern_still_reads_standard_input_from_another_file_with_a_policy_log()
    {
        if (!OperatingSystem.IsLinux()) Assert.Skip("standard input's file is read from /proc");
        var input = Path.Combine(_dir, "input.jsonl");
        var log = Path.Combine(_dir, "log.jsonl");
        File.WriteAllText(input, "{\"accept_rate\": 0.1}\n{\"accept_rate\": 0.2}\n");

        var (finished, code, output, error) = await Shell(TimeSpan.FromSeconds(60),
            $"exec \"{CliRun.DotnetHost()}\" \"{CliRun.Assembly}\" govern --policy-log \"{log}\" < \"{input}\"");

        Assert.True(finished);
        Assert.True(code == 0, error);
        Assert.Equal(2, output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(2, File.ReadAllLines(log).Length);
    }

    [Fact]
    public async Task A_trace_file_over_2_GB_is_a_one_line_error_naming_it()
    {
        // File.ReadAllTextAsync threw ArgumentOutOfRangeException ("The length cannot be greater than the capacity"):
        // a stack trace, exit 134, where aggregate says the file is too large.
        var path = Path.Combine(_dir, "huge.json");
        using (var stream = new FileStream(path, FileMode.CreateNew)) stream.SetLength(3L << 30); // sparse: no disk used

        var (code, _, error) = await CliRun.RunAsync("", "conformance", path);

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.StartsWith($"meta-gpu: {path}: ", error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd().Split('\n'));
    }

    [Theory]
    [InlineData("conformance")]
    [InlineData("aggregate", "--config")]
    [InlineData("govern", "--config")]
    public async Task A_file_of_more_characters_than_one_string_holds_is_a_one_line_error_naming_it(string command, string? option = null)
    {
        // 1.2 G bytes (sparse, all NUL) fit one read but not one string (2^30 characters): read as text first, the
        // file died with "Out of memory." (exit 134). Read as UTF-8 bytes, it is refused at its first byte. A process
        // of its own, so that a regression's 2 GB builder does not land in the test host.
        var path = Path.Combine(_dir, "large.json");
        using (var stream = new FileStream(path, FileMode.CreateNew)) stream.SetLength(1_200_000_000);
        var input = Path.Combine(_dir, "input.json");
        File.WriteAllText(input, command == "govern" ? "{\"accept_rate\": 0.1}\n" : "{\"updates\": []}");
        string[] args = option is null ? [command, path] : [command, option, path, input];

        var (finished, code, _, error) = await CliRun.ProcessAsync(TimeSpan.FromMinutes(2), null, args);

        Assert.True(finished);
        Assert.True(code == MetaGpuApp.ExitUserError, $"exit {code}: {error}");
        Assert.StartsWith($"meta-gpu: {path}: malformed JSON at line 1, column 1", error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd().Split('\n'));
    }

    private static async Task<(bool Finished, int Code, string Out, string Error)> Shell(TimeSpan limit, string script)
    {
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        using var process = Process.Start(start)!;
        return await CliRun.FinishAsync(process, limit);
    }
}
