using Meta.Gpu.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Tests.Telemetry;

/// <summary>A <see cref="RecordingLogger"/> for components that take an <see cref="ILogger{T}"/>.</summary>
internal sealed class TypedRecordingLogger<T> : ILogger<T>
{
    private readonly RecordingLogger _inner = new();

    public IReadOnlyList<LogEntry> Entries => _inner.Entries;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => _inner.BeginScope(state);

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _inner.Log(logLevel, eventId, state, exception, formatter);
}
