using System.Buffers.Binary;
using System.Security.Cryptography;
using Meta.Gpu.Storage;

namespace Meta.Gpu.Tests.Storage;

/// <summary>
/// <see cref="DensePriorFile"/>: "Reading checks, in order: the magic, the version, the element type, the header
/// fields, ... and the checksum". A header field out of its range is refused by itself, not only when a flipped byte
/// breaks the checksum: a record whose checksum was computed over the bad field (a peer's dense update on the wire, a
/// file written by a faulty writer) must not load as a prior with a negative round or an empty domain id.
/// </summary>
public sealed class DenseHeaderFieldTests
{
    private static readonly float[] Values = [1f, 2f, 3f];

    /// <summary>The record with its trailing SHA-256 computed again over everything before it.</summary>
    private static byte[] Resealed(byte[] bytes)
    {
        SHA256.HashData(bytes.AsSpan(0, bytes.Length - DensePriorFile.ChecksumSize), bytes.AsSpan(bytes.Length - DensePriorFile.ChecksumSize));
        return bytes;
    }

    [Theory]
    [InlineData("round", "corrupt header: round = -1 is negative")]
    [InlineData("count", "corrupt header: -1 sequence entries")]
    [InlineData("reserved", "corrupt header: reserved bytes are not zero")]
    [InlineData("id length", "corrupt sequence entry 0: domain id length 0")]
    public void A_header_field_out_of_range_is_refused_under_a_checksum_that_matches(string field, string message)
    {
        var bytes = field switch
        {
            "round" => DensePriorFile.ToBytes(Values, 1),
            "count" => DensePriorFile.ToBytes(Values, 1),
            "reserved" => DensePriorFile.ToBytes(Values, 1),
            // The first entry's id of no bytes: its 'a' cut out and its length written as 0 (a second entry keeps the
            // record as long as the entry count needs at least, so this is not read as a truncation).
            _ => DensePriorFile.ToBytes(Values, 1, new Dictionary<string, long> { ["a"] = 9, ["bc"] = 10 }),
        };
        switch (field)
        {
            case "round": BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(16), -1); break;
            case "count": BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(24), -1); break;
            case "reserved": BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(28), 1); break;
            default:
                var entry = DensePriorFile.HeaderSize + 4 * Values.Length;
                BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(entry), 0);
                bytes = [.. bytes[..(entry + 4)], .. bytes[(entry + 5)..]];
                break;
        }

        var error = Assert.Throws<InvalidInputException>(() => DensePriorFile.FromBytes(Resealed(bytes)));

        Assert.Equal($"dense prior: {message}", error.Message);
    }
}
