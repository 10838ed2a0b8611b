using System.Text;

namespace Meta.Gpu.Cli.Commands;

/// <summary>
/// The lines of a text, split as <see cref="TextReader.ReadLine"/> splits them (at "\n", "\r" or "\r\n"), each
/// refused once it is longer than one string can hold: ReadLine built such a line whole (a binary file, a file of
/// no line breaks given to `govern`) and died with "Out of memory." (exit 134), after taking much of the machine's
/// memory. The refusal names the line.
/// </summary>
internal sealed class LineReader(TextReader reader)
{
    /// <summary>The most characters one string holds (on 64-bit runtimes).</summary>
    public const int MaxLineLength = 0x3FFFFFDF;

    private readonly char[] _buffer = new char[1 << 16];
    private int _start;
    private int _end;
    private bool _skipLineFeed;

    /// <summary>The next line, without its line break; null at the end of the text. <paramref name="lineNumber"/>
    /// (counted from 1) names it in the error for one that is too long.</summary>
    public async Task<string?> ReadLineAsync(int lineNumber, CancellationToken token, int maxLength = MaxLineLength)
    {
        StringBuilder? line = null;
        while (true)
        {
            if (_start == _end)
            {
                // The wait, as the reader's own may not see the token (standard input): Ctrl-C stops it.
                _end = await reader.ReadAsync(_buffer.AsMemory(), token).AsTask().WaitAsync(token).ConfigureAwait(false);
                _start = 0;
                if (_end == 0) return line?.ToString();
            }
            // A "\r" ended the last line: a "\n" right after it is part of that line break.
            if (_skipLineFeed)
            {
                _skipLineFeed = false;
                if (_buffer[_start] == '\n')
                {
                    _start++;
                    continue;
                }
            }
            var rest = _buffer.AsSpan(_start, _end - _start);
            var end = rest.IndexOfAny('\r', '\n');
            var part = end < 0 ? rest : rest[..end];
            if ((long)(line?.Length ?? 0) + part.Length > maxLength)
                throw new InvalidInputException(FormattableString.Invariant(
                    $"line {lineNumber}: longer than {maxLength} characters, more than one line can hold (is this JSON Lines?)"));
            if (end >= 0)
            {
                _skipLineFeed = rest[end] == '\r';
                _start += end + 1;
                return line is null ? new string(part) : line.Append(part).ToString();
            }
            (line ??= new StringBuilder()).Append(part);
            _start = _end;
        }
    }
}
