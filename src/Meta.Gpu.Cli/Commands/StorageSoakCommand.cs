using System.CommandLine;
using System.Globalization;
using Meta.Gpu.Storage;

namespace Meta.Gpu.Cli.Commands;

/// <summary>
/// `meta-gpu storage-soak --root DIR [--count N] [--keys K] [--d D]` (hidden): saves priors in a loop so that a test
/// can kill the process mid-write and check that what is on disk still loads whole (DESIGN §11). Save i writes a
/// global prior whose every value is i (key "iteration" included) and a dense prior of D values i at round i with
/// last sequence {"soak": i}: any mix of two saves is visible as unequal values.
/// </summary>
internal static class StorageSoakCommand
{
    public static Command Create(CliConsole console)
    {
        var root = new Option<string>("--root") { Description = "Storage root folder.", Required = true };
        var count = new Option<int>("--count") { CustomParser = InvariantNumber.Int32, Description = "Saves to make.", DefaultValueFactory = _ => 1_000 };
        var keys = new Option<int>("--keys") { CustomParser = InvariantNumber.Int32, Description = "Keys in the global prior.", DefaultValueFactory = _ => 64 };
        var d = new Option<int>("--d") { CustomParser = InvariantNumber.Int32, Description = "Values in the dense prior.", DefaultValueFactory = _ => 65_536 };
        var command = new Command("storage-soak", "Save priors in a loop (crash-safety tests).") { root, count, keys, d };
        command.Hidden = true;
        command.SetAction((result, token) => MetaGpuApp.GuardAsync(console, () =>
            RunAsync(console, result.GetValue(root)!, result.GetValue(count), result.GetValue(keys), result.GetValue(d), token)));
        return command;
    }

    private static async Task<int> RunAsync(CliConsole console, string root, int count, int keys, int d, CancellationToken token)
    {
        if (count < 1) throw new InvalidInputException($"--count: must be >= 1, got {count}");
        if (keys < 1) throw new InvalidInputException($"--keys: must be >= 1, got {keys}");
        if (d < 1) throw new InvalidInputException($"--d: must be >= 1, got {d}");
        var storage = new MetaStorageManager(new StorageConfig(root, Retention: 3).Validated());
        var names = Enumerable.Range(0, keys).Select(k => string.Create(CultureInfo.InvariantCulture, $"k{k:D4}")).ToArray();
        var values = new float[d];
        for (var i = 1; i <= count && !token.IsCancellationRequested; i++)
        {
            var prior = names.ToDictionary(n => n, _ => (double)i, StringComparer.Ordinal);
            prior["iteration"] = i;
            storage.SavePrior(prior);
            Array.Fill(values, i);
            storage.SaveDensePrior(values, i, new Dictionary<string, long>(StringComparer.Ordinal) { ["soak"] = i });
        }
        // Stopped by a signal: not a report of every save asked for (TerminationSignals turns this into 130/143).
        token.ThrowIfCancellationRequested();
        await console.Out.WriteLineAsync($"storage-soak: {count} saves into {storage.Root}").ConfigureAwait(false);
        return MetaGpuApp.ExitOk;
    }
}
