using Meta.Gpu.Cli;
using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Storage;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Cli;

/// <summary>
/// A duration option (seconds) too short for a timer's tick (100 ns) is refused naming the option and the value
/// typed: it passed the option's "positive" check, became a zero TimeSpan, and was then refused as
/// "connect_timeout: 0 s must be positive" (a field the user never typed, and a value they did not give) or
/// "--round-timeout: must be positive, got 0".
/// </summary>
public sealed class SubTickDurationTests
{
    [Theory]
    [InlineData("serve", "--connect-timeout")]
    [InlineData("domain", "--connect-timeout")]
    [InlineData("demo", "--connect-timeout")]
    [InlineData("demo", "--round-timeout")]
    public async Task A_duration_shorter_than_a_tick_is_exit_2_naming_the_option_and_the_value_given(string command, string option)
    {
        using var folder = new TempFolder();
        // Port 1 refuses at once, should the value ever get as far as dialling.
        string[] args = command switch
        {
            "serve" => ["serve", "--bus", "nats://127.0.0.1:1", "--backend", "cpu", "--storage", Path.Combine(folder.Path, "storage"), option, "1e-8"],
            "domain" => ["domain", "--bus", "nats://127.0.0.1:1", "--id", "domain-000", option, "1e-8"],
            _ => ["demo", "--bus", "nats://127.0.0.1:1", "--out", folder.Path, option, "1e-8"],
        };

        var (code, _, error) = await CliRun.RunAsync("", args);

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.StartsWith($"meta-gpu: {option}: 1E-08 ", error, StringComparison.Ordinal);
        Assert.DoesNotContain("connect_timeout", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(folder.Path, "storage", StorageRootLock.FileName)), "serve took the storage folder before refusing the option");
    }
}
