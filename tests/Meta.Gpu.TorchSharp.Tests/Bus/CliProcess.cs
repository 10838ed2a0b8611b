using System.Collections.Concurrent;
using System.Diagnostics;

namespace Meta.Gpu.TorchSharp.Tests.Bus;

/// <summary>`dotnet meta-gpu.dll ...` from this test output (which carries libtorch), with its lines kept.</summary>
internal sealed class CliProcess : IAsyncDisposable
{
    private readonly Process _process;

    private CliProcess(Process process) => _process = process;

    public ConcurrentQueue<string> Lines { get; } = new();

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Output => string.Join("\n", Lines);

    public static CliProcess Start(params string[] args) => Start(new Dictionary<string, string>(), args);

    /// <summary>As <see cref="Start(string[])"/>, with <paramref name="environment"/> set for the process.</summary>
    public static CliProcess Start(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (name, value) in environment) info.Environment[name] = value;
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "meta-gpu.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        var cli = new CliProcess(new Process { StartInfo = info });
        cli._process.OutputDataReceived += (_, e) => { if (e.Data is not null) cli.Lines.Enqueue(e.Data); };
        cli._process.ErrorDataReceived += (_, e) => { if (e.Data is not null) cli.Lines.Enqueue("err: " + e.Data); };
        cli._process.Start();
        cli._process.BeginOutputReadLine();
        cli._process.BeginErrorReadLine();
        return cli;
    }

    /// <summary>Waits for the exit; a process still running after <paramref name="timeout"/> fails the test.</summary>
    public async Task<int> WaitAsync(TimeSpan timeout, Func<string>? context = null)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"still running after {timeout.TotalSeconds} s: {Output}\n{context?.Invoke()}");
        }
        _process.WaitForExit(); // flushes the redirected output
        return _process.ExitCode;
    }

    /// <summary>Waits until a line satisfies <paramref name="match"/>.</summary>
    public async Task WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!Lines.Any(match))
        {
            if (clock.Elapsed > timeout) Assert.Fail($"no such line within {timeout.TotalSeconds} s: {Output}");
            if (_process.HasExited && !Lines.Any(match)) { _process.WaitForExit(); if (!Lines.Any(match)) Assert.Fail($"exited with {_process.ExitCode} first: {Output}"); }
            await Task.Delay(50);
        }
    }

    /// <summary>SIGKILL, as a crash would.</summary>
    public async Task KillAsync()
    {
        if (_process.HasExited) return;
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }
}
