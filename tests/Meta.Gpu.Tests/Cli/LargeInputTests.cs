using System.Text.Json.Nodes;
using Meta.Gpu.Cli;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Cli;

/// <summary>Inputs larger than one read of the runtime can hold: a one-line error for a file over 2 GB, and standard
/// input read as the same file would be (one string holds at most 2^30 characters).</summary>
public sealed class LargeInputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("meta-gpu-large-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task An_input_file_over_2_GB_is_a_one_line_error_naming_it()
    {
        // The runtime's IOException ("The file is too long") escaped as a stack trace, exit 134.
        var path = Path.Combine(_dir, "huge.json");
        using (var stream = new FileStream(path, FileMode.CreateNew)) stream.SetLength(3L << 30); // sparse: no disk used

        var (code, _, error) = await CliRun.RunAsync("", "aggregate", path);

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.StartsWith($"meta-gpu: {path}: ", error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd().Split('\n'));
    }

    [Fact]
    public async Task Standard_input_beyond_2_to_the_30_characters_is_read_as_the_same_file_is()
    {
        // 1.1 G spaces, then the document: ReadToEnd built one string and died with "Out of memory." (exit 134).
        using var input = new SpacesThen(1_100_000_000, """{"updates": []}""");
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = await MetaGpuApp.RunAsync(["aggregate", "-"], new CliConsole(input, output, error));

        Assert.True(code == 0, error.ToString());
        Assert.Equal(0, JsonNode.Parse(output.ToString())!["participants"]!.GetValue<int>());
    }

    /// <summary>A reader of <paramref name="spaces"/> spaces and then <paramref name="tail"/>, made as it is read.</summary>
    private sealed class SpacesThen(long spaces, string tail) : TextReader
    {
        private long _spaces = spaces;
        private int _tail;

        public override int Read(Span<char> buffer)
        {
            if (_spaces > 0)
            {
                var count = (int)Math.Min(buffer.Length, _spaces);
                buffer[..count].Fill(' ');
                _spaces -= count;
                return count;
            }
            var rest = Math.Min(buffer.Length, tail.Length - _tail);
            tail.AsSpan(_tail, rest).CopyTo(buffer);
            _tail += rest;
            return rest;
        }

        public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

        public override int Read()
        {
            Span<char> one = stackalloc char[1];
            return Read(one) == 1 ? one[0] : -1;
        }

        public override ValueTask<int> ReadAsync(Memory<char> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));
    }
}
