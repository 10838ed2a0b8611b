using System.Text;

namespace Meta.Gpu.Cli;

/// <summary>
/// The process's standard output, whose write failures (a full disk behind <c>&gt; file</c>, <c>/dev/full</c>, a closed <c>&gt;&amp;-</c>) are a
/// one-line error naming it, exit 2, as an unwritable <c>--out</c> folder is: the runtime's IOException escaped every
/// command as an unhandled exception (exit 134 and a stack trace). A closed pipe is not one of them: the runtime
/// drops what is written to it.
/// </summary>
internal sealed class StandardOutput(TextWriter inner) : TextWriter
{
    public override Encoding Encoding => inner.Encoding;

    public override IFormatProvider FormatProvider => inner.FormatProvider;

    [System.Diagnostics.CodeAnalysis.AllowNull]
    public override string NewLine
    {
        get => inner.NewLine;
        set => inner.NewLine = value;
    }

    public override void Write(char value) => Guard(() => inner.Write(value));

    public override void Write(string? value) => Guard(() => inner.Write(value));

    public override void Write(char[] buffer, int index, int count) => Guard(() => inner.Write(buffer, index, count));

    public override void Write(ReadOnlySpan<char> buffer)
    {
        var text = buffer.ToString();
        Guard(() => inner.Write(text));
    }

    public override void WriteLine() => Guard(inner.WriteLine);

    public override void WriteLine(string? value) => Guard(() => inner.WriteLine(value));

    public override void WriteLine(ReadOnlySpan<char> buffer)
    {
        var text = buffer.ToString();
        Guard(() => inner.WriteLine(text));
    }

    public override Task WriteAsync(char value) => GuardAsync(() => inner.WriteAsync(value));

    public override Task WriteAsync(string? value) => GuardAsync(() => inner.WriteAsync(value));

    public override Task WriteAsync(ReadOnlyMemory<char> buffer, CancellationToken cancellationToken = default) =>
        GuardAsync(() => inner.WriteAsync(buffer, cancellationToken));

    public override Task WriteLineAsync() => GuardAsync(inner.WriteLineAsync);

    public override Task WriteLineAsync(string? value) => GuardAsync(() => inner.WriteLineAsync(value));

    public override Task WriteLineAsync(ReadOnlyMemory<char> buffer, CancellationToken cancellationToken = default) =>
        GuardAsync(() => inner.WriteLineAsync(buffer, cancellationToken));

    public override void Flush() => Guard(inner.Flush);

    public override Task FlushAsync() => GuardAsync(inner.FlushAsync);

    public override Task FlushAsync(CancellationToken cancellationToken) => GuardAsync(() => inner.FlushAsync(cancellationToken));

    private static void Guard(Action write)
    {
        try
        {
            write();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Unwritable(e);
        }
    }

    private static async Task GuardAsync(Func<Task> write)
    {
        try
        {
            await write().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Unwritable(e);
        }
    }

    /// <summary>A closed standard output (<c>&gt;&amp;-</c>) says "Bad file descriptor" (see <see cref="IoFailure.Reason"/>).</summary>
    private static InvalidInputException Unwritable(Exception e) => new($"standard output: cannot write ({IoFailure.Reason(e)})", e);
}
