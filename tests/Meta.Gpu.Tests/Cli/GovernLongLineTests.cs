using System.Text.Json.Nodes;
using Meta.Gpu.Cli;

namespace Meta.Gpu.Tests.Cli;

/// <summary>
/// `govern` given a line longer than one string can hold (a binary file, a file without line breaks): the run is a
/// one-line error naming the line, exit 2, after the lines before it. ReadLine built the line whole and died with
/// "Out of memory." (exit 134; a 1.2 GB file of zero bytes took 22 GB of memory on the way).
/// </summary>
public sealed class GovernLongLineTests
{
    [Fact]
    public async Task A_line_longer_than_one_string_holds_is_exit_2_naming_it_after_the_lines_before_it()
    {
        using var input = new LinesThenLongLine("{\"accept_rate\": 0.1}\n", 1_100_000_000);
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = await MetaGpuApp.RunAsync(["govern", "-"], new CliConsole(input, output, error));

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.StartsWith("meta-gpu: line 2: longer than ", error.ToString(), StringComparison.Ordinal);
        Assert.Single(error.ToString().TrimEnd().Split('\n'));
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(1, JsonNode.Parse(Assert.Single(lines))!["meta_policy_update"]!["rev"]!.GetValue<int>());
    }

    [Theory]
    [InlineData(65_535)] // the "\r" last in one read of the input, its "\n" first in the next
    [InlineData(65_534)]
    [InlineData(10)]
    public async Task A_crlf_line_break_is_one_break_wherever_the_reads_split_it(int firstLineLength)
    {
        var first = "{\"accept_rate\": 0.1}".PadRight(firstLineLength);
        var text = first + "\r\n{\"accept_rate\": x}\r\n";

        var (code, output, error) = await Meta.Gpu.Tests.Support.CliRun.RunAsync(text, "govern", "-");

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.StartsWith("meta-gpu: line 2, column 17: malformed JSON", error, StringComparison.Ordinal);
        Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary><paramref name="head"/>, then <paramref name="length"/> characters 'x' with no line break, made as
    /// they are read.</summary>
    private sealed class LinesThenLongLine(string head, long length) : TextReader
    {
        private int _head;
        private long _rest = length;

        public override int Read(Span<char> buffer)
        {
            if (_head < head.Length)
            {
                var count = Math.Min(buffer.Length, head.Length - _head);
                head.AsSpan(_head, count).CopyTo(buffer);
                _head += count;
                return count;
            }
            var fill = (int)Math.Min(buffer.Length, _rest);
            buffer[..fill].Fill('x');
            _rest -= fill;
            return fill;
        }

        public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

        public override int Read()
        {
            Span<char> one = stackalloc char[1];
            return Read(one) == 1 ? one[0] : -1;
        }

        public override int Peek() => _head < head.Length ? head[_head] : _rest > 0 ? 'x' : -1;
    }
}
