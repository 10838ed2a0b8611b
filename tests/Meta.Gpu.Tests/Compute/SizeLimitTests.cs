using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Meta.Gpu.Compute;
using Meta.Gpu.Storage;

namespace Meta.Gpu.Tests.Compute;

/// <summary>Sizes past an int's reach: a clear error naming them, or the work done, never an overflow from deep
/// inside.</summary>
public sealed class SizeLimitTests
{
    [Theory]
    [InlineData(64, 40_000_000)]   // 2.56G cells
    [InlineData(1024, 4_194_304)]  // 4.3G cells once padded
    [InlineData(2, 1_073_741_800)] // between Array.MaxLength and int.MaxValue once padded
    public void A_batch_too_large_for_one_array_is_refused_naming_its_sizes(int rows, int columns)
    {
        // The allocation threw an OverflowException or an OutOfMemoryException naming neither.
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new DomainBatch(rows, columns));
        Assert.Equal("rows", error.ParamName);
        Assert.Contains($"{rows} rows of {columns} columns", error.Message, StringComparison.Ordinal);
        Assert.Contains($"at most {DomainBatch.MaxRows(columns)} rows", error.Message, StringComparison.Ordinal);
        Assert.True((long)DomainBatch.MaxRows(columns) * DomainBatch.ChooseStride(columns) <= Array.MaxLength);
        Assert.True((long)(DomainBatch.MaxRows(columns) + 1) * DomainBatch.ChooseStride(columns) > Array.MaxLength);
    }

    [Fact]
    public void ToBytes_of_more_values_than_one_byte_array_holds_names_the_size()
    {
        // 4 * D wrapped negative at D = 2^29: "capacity ('-2147483520') must be a non-negative value".
        const int d = 1 << 29;
        var memory = Marshal.AllocHGlobal(new IntPtr(4L * d)); // never touched: costs no memory
        try
        {
            var error = Assert.Throws<InvalidInputException>(() => DensePriorFile.ToBytes(Untouched(memory, d), 1));
            Assert.Contains($"{d} values", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Marshal.FreeHGlobal(memory);
        }
    }

    [Fact]
    public void Writing_a_dense_prior_of_2_pow_29_values_does_not_overflow()
    {
        // MemoryMarshal.AsBytes of 2^29 floats (2 GiB) threw OverflowException: a 600M-parameter model's prior was
        // stepped every round and never saved.
        const int d = 1 << 29;
        var memory = Marshal.AllocHGlobal(new IntPtr(4L * d));
        try
        {
            var written = new CountingStream();
            DensePriorFile.Write(written, Untouched(memory, d), 1);
            Assert.Equal(DensePriorFile.HeaderSize + 4L * d + DensePriorFile.ChecksumSize, written.Length);
        }
        finally
        {
            Marshal.FreeHGlobal(memory);
        }
    }

    private static ReadOnlySpan<float> Untouched(nint memory, int length) =>
        MemoryMarshal.CreateReadOnlySpan(ref Unsafe.AddByteOffset(ref Unsafe.NullRef<float>(), memory), length);

    private sealed class CountingStream : Stream
    {
        private long _length;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _length;
        public override long Position { get => _length; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => _length += count;
        public override void Write(ReadOnlySpan<byte> buffer) => _length += buffer.Length;
    }
}
