using System.Text.Json.Nodes;
using Meta.Gpu.Nats.Dense;
using Meta.Gpu.Storage;

namespace Meta.Gpu.Nats.Tests;

/// <summary>An inline dense message is the envelope's length, the envelope, then exactly one §11 record (DESIGN §11:
/// header, the D values, the SHA-256). A frame whose length field runs past the message, or whose record is followed
/// by stray bytes, is malformed: rejected as such (an <see cref="InvalidInputException"/>, which the bus logs, counts
/// and terminates), never delivered, and the topic goes on.</summary>
public sealed class DenseInlineFrameTests
{
    private static byte[] Frame() =>
        DensePayload.FrameInline(new JsonObject { ["domain_id"] = "a", ["sequence"] = 1 }, DensePriorFile.ToBytes([1f, 2f], 1));

    [Fact]
    public void An_envelope_length_up_to_the_end_of_the_message_is_read_and_one_past_it_is_malformed()
    {
        var frame = Frame();
        var (_, blob) = DensePayload.ReadInline(frame);
        Assert.Equal(DensePriorFile.ToBytes([1f, 2f], 1), blob.ToArray());

        foreach (var past in new[] { 1, 2, 4 })
        {
            var bad = (byte[])frame.Clone();
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bad, frame.Length - 4 + past);
            var e = Assert.Throws<InvalidInputException>(() => DensePayload.ReadInline(bad));
            Assert.Contains("exceeds the message", e.Message);
        }
    }

    [Fact]
    public Task An_inline_dense_message_with_bytes_after_its_checksum_is_rejected_and_the_feed_goes_on() =>
        RawDenseMessage.IsRejectedAndTheFeedGoesOnAsync(
            DensePayload.FrameInline(new JsonObject { ["domain_id"] = "odd", ["sequence"] = 1, ["confidence"] = 0.5 },
                [.. DensePriorFile.ToBytes([1f, 2f, 3f], 1), 0]),
            "dense-inline");
}
