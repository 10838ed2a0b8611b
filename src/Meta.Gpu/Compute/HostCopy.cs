namespace Meta.Gpu.Compute;

/// <summary>
/// Copies a large host array on several threads. One core copies at a fraction of the memory bandwidth a socket
/// gives several (a server core may manage 10 GB/s of a 70 GB/s socket), and a device backend copies a D-long
/// prior out of its staging memory every step, on the round's critical path.
/// </summary>
internal static unsafe class HostCopy
{
    /// <summary>Elements per task: 1 MiB of floats, large enough that scheduling costs nothing next to it.</summary>
    private const int BlockElements = 1 << 18;

    public static void Copy(ReadOnlySpan<float> source, Span<float> target)
    {
        if (target.Length < source.Length) throw new ArgumentException($"target holds {target.Length} values, the source {source.Length}", nameof(target));
        var n = source.Length;
        if (n <= 2 * BlockElements || Environment.ProcessorCount == 1)
        {
            source.CopyTo(target);
            return;
        }
        fixed (float* s = source)
        fixed (float* t = target)
        {
            // Spans cannot enter the tasks; the fixed addresses can, and stay valid until the loop has returned.
            nint from = (nint)s, to = (nint)t;
            // In long: n + BlockElements - 1 passes int.MaxValue for the widest rows, and a negative count copied nothing.
            var blocks = (int)(((long)n + BlockElements - 1) / BlockElements);
            Parallel.For(0, blocks, b =>
            {
                var start = (long)b * BlockElements;
                var length = (int)Math.Min(BlockElements, n - start);
                new ReadOnlySpan<float>((float*)from + start, length).CopyTo(new Span<float>((float*)to + start, length));
            });
        }
    }
}
