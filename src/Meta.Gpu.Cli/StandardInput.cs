namespace Meta.Gpu.Cli;

/// <summary>
/// The process's standard input, whose read failures (<c>&lt; folder</c>: "Is a directory") are a one-line error
/// naming it, exit 2, as a folder given by path is: the runtime's IOException escaped `aggregate` and `govern` as an
/// unhandled exception (exit 134 and a stack trace). The counterpart of <see cref="StandardOutput"/>.
/// </summary>
internal sealed class StandardInput(TextReader inner) : TextReader
{
    public override int Peek() => Guard(inner.Peek);

    public override int Read() => Guard(inner.Read);

    public override int Read(char[] buffer, int index, int count) => Guard(() => inner.Read(buffer, index, count));

    public override int Read(Span<char> buffer)
    {
        try
        {
            return inner.Read(buffer);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Unreadable(e);
        }
    }

    public override string? ReadLine() => Guard(inner.ReadLine);

    public override string ReadToEnd() => Guard(inner.ReadToEnd);

    public override Task<int> ReadAsync(char[] buffer, int index, int count) => GuardAsync(() => inner.ReadAsync(buffer, index, count));

    public override ValueTask<int> ReadAsync(Memory<char> buffer, CancellationToken cancellationToken = default) =>
        new(GuardAsync(() => inner.ReadAsync(buffer, cancellationToken).AsTask()));

    public override Task<string?> ReadLineAsync() => GuardAsync(inner.ReadLineAsync);

    public override ValueTask<string?> ReadLineAsync(CancellationToken cancellationToken) =>
        new(GuardAsync(() => inner.ReadLineAsync(cancellationToken).AsTask()));

    public override Task<string> ReadToEndAsync() => GuardAsync(inner.ReadToEndAsync);

    public override Task<string> ReadToEndAsync(CancellationToken cancellationToken) => GuardAsync(() => inner.ReadToEndAsync(cancellationToken));

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }

    private static T Guard<T>(Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Unreadable(e);
        }
    }

    private static async Task<T> GuardAsync<T>(Func<Task<T>> read)
    {
        try
        {
            return await read().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Unreadable(e);
        }
    }

    private static InvalidInputException Unreadable(Exception e) => new($"standard input: cannot read ({IoFailure.Reason(e)})", e);
}
