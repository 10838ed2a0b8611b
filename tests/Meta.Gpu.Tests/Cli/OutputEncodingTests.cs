using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Cli;

/// <summary>Standard output is UTF-8 whatever charset the locale names, as standard input and every file the tool
/// reads and writes are: JSON exchanged between programs is UTF-8 (RFC 8259 §8.1).</summary>
public sealed class OutputEncodingTests
{
    [Theory]
    [InlineData("en_US.US-ASCII")]
    [InlineData("en_US.ISO-8859-1")]
    public async Task Aggregate_writes_non_ascii_keys_as_utf8_under_a_locale_of_another_charset(string locale)
    {
        // The input is read as UTF-8 in any locale, but the output was written in the locale's charset: under ASCII
        // the keys "größe" and "日本" came out as "gr??e" and "??" (two different keys as one), under ISO-8859-1
        // "größe" as Latin-1 bytes no UTF-8 JSON reader takes, and "日本" as "??".
        const string input = """{"updates": [{"domain_id": "a", "keys": ["größe", "日本"], "vector": [1, 2], "confidence": 0.5}]}""";
        var start = new ProcessStartInfo(CliRun.DotnetHost())
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(CliRun.Assembly);
        start.ArgumentList.Add("aggregate");
        start.Environment["LANG"] = locale;
        start.Environment["LC_ALL"] = locale;
        using var process = Process.Start(start)!;
        await process.StandardInput.BaseStream.WriteAsync(Encoding.UTF8.GetBytes(input));
        process.StandardInput.Close();
        var output = process.StandardOutput.BaseStream;
        using var bytes = new MemoryStream();
        var copy = output.CopyToAsync(bytes);
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        await copy;

        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {await error}");
        // Bytes that are no UTF-8 (Latin-1's) read as U+FFFD, so the failure shows the key as it arrived.
        var text = Encoding.UTF8.GetString(bytes.ToArray());
        var keys = JsonNode.Parse(text)!["keys"]!.AsArray().Select(k => k!.GetValue<string>()).ToArray();
        Assert.Equal(new[] { "größe", "日本" }, keys);
    }
}
