using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Meta.Gpu.Cli.Bench;

/// <summary>
/// Runs a peer script of <c>benchmarks/peers/</c> (numpy, PyTorch) on the data files of one size and reads the
/// JSON it prints. The script times its own calls (process start and file reading are not counted). A missing
/// interpreter, a missing library (the script says so), a crash or a timeout is reported as the peer skipped, with
/// the reason — never as a figure. After each workload's timed calls the script writes the result of one more call
/// into the folder given as <c>--results</c> (<c>&lt;workload&gt;.f32</c>, D little-endian float32), read here into
/// <see cref="PeerTimes.Result"/> for <see cref="PeerAgreement"/>.
/// </summary>
public static class PythonPeer
{
    /// <summary>Where the scripts are: beside the tool (peers/, copied at build), else benchmarks/peers above the current folder.</summary>
    public static string? FindScript(string fileName)
    {
        var beside = Path.Combine(AppContext.BaseDirectory, "peers", fileName);
        if (File.Exists(beside)) return beside;
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "benchmarks", "peers", fileName);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>
    /// The interpreters to try, in order: the option or META_GPU_PYTHON alone when set; else python3 on PATH, then
    /// /usr/bin/python3 (a PATH python, e.g. pyenv's, often lacks numpy while the system one has it, and a GPU
    /// machine's PATH python is the one with torch).
    /// </summary>
    public static IReadOnlyList<string> PythonCandidates(string? configured)
    {
        if (!string.IsNullOrWhiteSpace(configured)) return [configured];
        var env = Environment.GetEnvironmentVariable("META_GPU_PYTHON");
        if (!string.IsNullOrWhiteSpace(env)) return [env];
        var found = new List<string>();
        if (OnPath("python3") is { } onPath) found.Add(onPath);
        if (File.Exists("/usr/bin/python3") && !found.Contains("/usr/bin/python3")) found.Add("/usr/bin/python3");
        return found;
    }

    /// <summary>Whether <paramref name="python"/> names an existing file, or (a bare name) a file in a PATH folder.</summary>
    public static bool Resolves(string python)
    {
        if (string.IsNullOrWhiteSpace(python)) return false;
        if (python.Contains(Path.DirectorySeparatorChar) || python.Contains(Path.AltDirectorySeparatorChar)) return File.Exists(python);
        return OnPath(python) is not null;
    }

    /// <summary>The first file named <paramref name="name"/> in the PATH folders, in order; null for none.</summary>
    private static string? OnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);

    public static async Task<PeerRun> RunAsync(
        string peer, string scriptName, string dataFolder, int n, int d, IReadOnlyList<string> workloads,
        BenchOptions options, IReadOnlyList<string> extraArgs, CancellationToken token)
    {
        ArgumentNullException.ThrowIfNull(options);
        var script = FindScript(scriptName);
        if (script is null) return PeerRun.Skip(peer, $"{scriptName} not found beside the tool or under benchmarks/peers");
        var pythons = PythonCandidates(options.Python);
        if (pythons.Count == 0) return PeerRun.Skip(peer, "python3 not found (set META_GPU_PYTHON or --python)");
        PeerRun? run = null;
        foreach (var python in pythons)
        {
            run = await RunOnceAsync(python, peer, scriptName, script, dataFolder, n, d, workloads, options, extraArgs, token).ConfigureAwait(false);
            // Only a missing library moves on to the next interpreter; any other outcome is this peer's answer.
            if (run.MissingModule is null) return run;
        }
        return run!;
    }

    private static async Task<PeerRun> RunOnceAsync(
        string python, string peer, string scriptName, string script, string dataFolder, int n, int d, IReadOnlyList<string> workloads,
        BenchOptions options, IReadOnlyList<string> extraArgs, CancellationToken token)
    {
        // The peer's own folder, emptied: a result left by another peer or an earlier interpreter is not this one's.
        var resultsFolder = Path.Combine(dataFolder, $"{peer}-results");
        if (Directory.Exists(resultsFolder)) Directory.Delete(resultsFolder, recursive: true);
        Directory.CreateDirectory(resultsFolder);
        var start = new ProcessStartInfo(python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(script);
        foreach (var (flag, value) in new[]
                 {
                     ("--data", dataFolder), ("--n", n.ToString(CultureInfo.InvariantCulture)), ("--d", d.ToString(CultureInfo.InvariantCulture)),
                     ("--workloads", string.Join(',', workloads)), ("--repeats", options.Repeats.ToString(CultureInfo.InvariantCulture)),
                     ("--warmup", options.Warmup.ToString(CultureInfo.InvariantCulture)),
                     ("--trim-alpha", options.TrimAlpha.ToString("R", CultureInfo.InvariantCulture)),
                     ("--beta", options.Beta.ToString("R", CultureInfo.InvariantCulture)),
                     ("--budget-s", options.RowBudget.TotalSeconds.ToString("R", CultureInfo.InvariantCulture)),
                     ("--results", resultsFolder),
                 })
        {
            start.ArgumentList.Add(flag);
            start.ArgumentList.Add(value);
        }
        foreach (var arg in extraArgs) start.ArgumentList.Add(arg);

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("no process");
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return PeerRun.Skip(peer, $"could not start {python}: {e.Message}");
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync(token);
            var stderr = process.StandardError.ReadToEndAsync(token);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
            timeout.CancelAfter(options.PeerTimeout);
            try
            {
                await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopped, whether for its own timeout or for the run's (Ctrl-C): a peer left running went on, orphaned,
                // for up to its whole timeout.
                process.Kill(entireProcessTree: true);
                if (token.IsCancellationRequested) throw;
                return PeerRun.Skip(peer, $"{scriptName} ran past {options.PeerTimeout.TotalSeconds:0} s and was stopped");
            }
            var output = await stdout.ConfigureAwait(false);
            var errors = await stderr.ConfigureAwait(false);
            if (process.ExitCode != 0)
                return PeerRun.Skip(peer, $"{scriptName} exited with {process.ExitCode}: {LastLine(errors)}");
            return WithResults(Parse(peer, scriptName, output), scriptName, resultsFolder, d);
        }
    }

    /// <summary><paramref name="run"/> with each timed workload's result read from <paramref name="folder"/>: one that
    /// is missing or unreadable leaves the row unchecked, one of the wrong size is a result that cannot agree.</summary>
    public static PeerRun WithResults(PeerRun run, string scriptName, string folder, int d)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (run.Skipped is not null) return run;
        var results = new Dictionary<string, PeerTimes>(StringComparer.Ordinal);
        foreach (var (workload, times) in run.Results)
            results[workload] = times.Skipped is not null || times.ResultSkipped is not null ? times : WithResult(times, scriptName, workload, Path.Combine(folder, workload + ".f32"), d);
        return run with { Results = results };
    }

    private static PeerTimes WithResult(PeerTimes times, string scriptName, string workload, string file, int d)
    {
        var expected = (long)d * sizeof(float);
        try
        {
            if (!File.Exists(file)) return times with { ResultSkipped = $"{scriptName} wrote no result for {workload}" };
            var length = new FileInfo(file).Length;
            if (length != expected)
                return times with { ResultInvalid = string.Create(CultureInfo.InvariantCulture, $"{scriptName}'s result for {workload} has {length} bytes, not D x 4 = {expected}") };
            // Little-endian, as the data files it read (BenchData.WritePeerFiles refuses anything else).
            return times with { Result = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(file)).ToArray() };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return times with { ResultSkipped = $"{scriptName}'s result for {workload} could not be read ({e.Message})" };
        }
    }

    /// <summary>One workload's entry: {"skipped"} or {"times_ms": [positive finite numbers]}; anything else (a
    /// non-object, a time that is null, a string, negative or beyond double) is the row skipped, never a figure or a
    /// crash of the run.</summary>
    private static PeerTimes Times(string scriptName, string workload, JsonElement entry)
    {
        if (entry.ValueKind != JsonValueKind.Object) return new PeerTimes([], $"{scriptName} gave {entry.ValueKind} for {workload}, not an object");
        if (entry.TryGetProperty("skipped", out var reason)) return new PeerTimes([], reason.ToString());
        if (!entry.TryGetProperty("times_ms", out var times) || times.ValueKind != JsonValueKind.Array || times.GetArrayLength() == 0)
            return new PeerTimes([], $"{scriptName} gave no times for {workload}");
        var values = new List<double>(times.GetArrayLength());
        foreach (var time in times.EnumerateArray())
        {
            if (time.ValueKind != JsonValueKind.Number || !time.TryGetDouble(out var ms) || !double.IsFinite(ms) || ms <= 0)
                return new PeerTimes([], $"{scriptName} gave an unusable time for {workload} ({time.GetRawText()})");
            values.Add(ms);
        }
        return new PeerTimes(values, null) { ResultSkipped = Text(entry, "result_skipped") is { } why ? $"{scriptName} made no result for {workload}: {why}" : null };
    }

    /// <summary>Reads the script's JSON line: {"skipped": reason} or {"version", "device"?, "read_gbs"?, "copy_gbs"?,
    /// "read_mb"?, "bandwidth_skipped"?, "results": {workload: {"times_ms", "result_skipped"?} | {"skipped"}}}. The bandwidth fields are
    /// optional (older scripts and the numpy peer print none); one that is not a finite positive number is read as
    /// absent.</summary>
    public static PeerRun Parse(string peer, string scriptName, string output)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(LastLine(output));
        }
        catch (JsonException e)
        {
            return PeerRun.Skip(peer, $"{scriptName} printed no JSON ({e.Message})");
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return PeerRun.Skip(peer, $"{scriptName} printed {root.ValueKind}, not an object");
            if (root.TryGetProperty("skipped", out var skipped))
                return PeerRun.Skip(peer, skipped.ToString()) with { MissingModule = Text(root, "missing") };
            var results = new Dictionary<string, PeerTimes>(StringComparer.Ordinal);
            if (root.TryGetProperty("results", out var table) && table.ValueKind == JsonValueKind.Object)
                foreach (var entry in table.EnumerateObject())
                    results[entry.Name] = Times(scriptName, entry.Name, entry.Value);
            return new PeerRun(peer, null, Text(root, "version"), Text(root, "device"), results)
            {
                ReadGbs = Positive(root, "read_gbs"),
                CopyGbs = Positive(root, "copy_gbs"),
                ReadMegabytes = Positive(root, "read_mb"),
                BandwidthSkipped = Text(root, "bandwidth_skipped"),
            };
        }
    }

    private static string? Text(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static double? Positive(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var x) && double.IsFinite(x) && x > 0
            ? x
            : null;

    private static string LastLine(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "(no output)" : lines[^1];
    }
}
