using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Meta.Gpu.Nats.Tests;

/// <summary>
/// A real <c>nats-server -js</c> of this test's own: a free loopback port, JetStream state in a temp folder,
/// stopped (and the folder removed) on dispose. <see cref="RestartAsync"/> brings it back on the same port and
/// folder, as a broker restart would. Tests call <see cref="StartAsync"/>, which skips the test (reported as skipped)
/// when nats-server is not installed.
/// </summary>
public sealed class NatsServer : IAsyncDisposable
{
    private Process? _process;
    private readonly string _storeDir;

    private NatsServer(string executable, int port)
    {
        Executable = executable;
        Port = port;
        _storeDir = Directory.CreateTempSubdirectory("meta-gpu-nats-").FullName;
    }

    public string Executable { get; }

    public int Port { get; }

    public string Url => $"nats://127.0.0.1:{Port}";

    /// <summary>The running broker's process id.</summary>
    public int ProcessId => _process?.Id ?? throw new InvalidOperationException("the nats-server is not running");

    /// <summary>Freezes the broker (SIGSTOP): the connections stay up and take what is sent, but nothing is answered.
    /// Returns once every thread of the broker has stopped: <c>kill</c> returns once the signal is sent, and each
    /// thread stops only when it next meets it (on a loaded machine a running thread still confirmed the publish made
    /// right after; CI: no give-up, nothing in flight).</summary>
    public void Freeze()
    {
        var pid = ProcessId;
        Signal("STOP", pid);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!Directory.EnumerateDirectories($"/proc/{pid}/task").All(task => ThreadState(task) is "T" or "t"))
        {
            if (DateTime.UtcNow > deadline) throw new InvalidOperationException($"the broker ({pid}) did not stop within 10 s of kill -STOP");
            Thread.Sleep(5);
        }

        static string ThreadState(string task)
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                return stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
            }
            catch (IOException)
            {
                return "T"; // the thread has exited: it runs nothing
            }
        }
    }

    /// <summary>Lets a frozen broker run again (SIGCONT).</summary>
    public void Thaw() => Signal("CONT", ProcessId);

    private static void Signal(string signal, int pid)
    {
        using var kill = Process.Start("kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
        if (kill.ExitCode != 0) throw new InvalidOperationException($"kill -{signal} {pid} failed with exit code {kill.ExitCode}");
    }

    public static string? FindExecutable()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Append("/usr/sbin").Append("/usr/bin"))
        {
            var candidate = Path.Combine(dir, "nats-server");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <param name="maxPayload">The broker's max_payload, where a test needs a small one.</param>
    /// <param name="credentials">A user and password the broker requires of every client.</param>
    public static async Task<NatsServer> StartAsync(int? maxPayload = null, (string User, string Password)? credentials = null)
    {
        var executable = FindExecutable();
        if (executable is null) Assert.Skip("nats-server is not installed (apt-get install nats-server); the NATS tests need a real broker");
        var server = new NatsServer(executable, FreePort()) { _maxPayload = maxPayload, _credentials = credentials };
        await server.LaunchAsync().ConfigureAwait(false);
        return server;
    }

    private int? _maxPayload;

    private (string User, string Password)? _credentials;

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task LaunchAsync()
    {
        var info = new ProcessStartInfo(Executable)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-js", "-a", "127.0.0.1", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-sd", _storeDir })
            info.ArgumentList.Add(arg);
        if (_credentials is var (user, password))
            foreach (var arg in new[] { "--user", user, "--pass", password })
                info.ArgumentList.Add(arg);
        if (_maxPayload is int max)
        {
            var config = Path.Combine(_storeDir, "server.conf");
            await File.WriteAllTextAsync(config, $"max_payload: {max}\n").ConfigureAwait(false);
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add(config);
        }
        // Ready means JetStream is up too: the server says so on stderr once everything is listening.
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        _process = new Process { StartInfo = info };
        DataReceivedEventHandler onLine = (_, e) =>
        {
            if (e.Data is null) return;
            log.Enqueue(e.Data);
            if (e.Data.Contains("Server is ready", StringComparison.Ordinal)) ready.TrySetResult();
        };
        _process.OutputDataReceived += onLine;
        _process.ErrorDataReceived += onLine;
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var exited = _process.WaitForExitAsync();
        var first = await Task.WhenAny(ready.Task, exited, Task.Delay(TimeSpan.FromSeconds(10))).ConfigureAwait(false);
        if (first == ready.Task) return;
        var tail = string.Join(" | ", log.TakeLast(5));
        throw new InvalidOperationException(first == exited
            ? $"nats-server exited with {_process.ExitCode}: {tail}"
            : $"nats-server did not become ready within 10 s: {tail}");
    }

    /// <summary>Stops the server abruptly (SIGKILL), as a crash would.</summary>
    public async Task StopAsync()
    {
        if (_process is null) return;
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }
        _process.Dispose();
        _process = null;
    }

    /// <summary>Stops and starts the server on the same port and state folder.</summary>
    public async Task RestartAsync(TimeSpan downtime = default)
    {
        await StopAsync().ConfigureAwait(false);
        if (downtime > TimeSpan.Zero) await Task.Delay(downtime).ConfigureAwait(false);
        await LaunchAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        try
        {
            Directory.Delete(_storeDir, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }
}
