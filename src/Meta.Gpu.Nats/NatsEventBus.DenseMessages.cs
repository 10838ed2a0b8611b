using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Meta.Gpu.Nats.Dense;
using Meta.Gpu.Serialization;
using Meta.Gpu.Storage;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.ObjectStore;
using NATS.Client.ObjectStore.Models;

namespace Meta.Gpu.Nats;

/// <summary>
/// The dense lane of <see cref="NatsEventBus"/>: a dense topic's float32 vector encoded as a binary record inline, or
/// put in the JetStream object store when larger than the inline limit and fetched, verified and rejected or delivered
/// on the receiving side; the objects no message will fetch are deleted.
/// </summary>
public sealed partial class NatsEventBus
{
    /// <summary>Deletes an object no message will fetch: that of a dense publish the stream dropped as a duplicate of a
    /// message stored before (a retried publish), or that of a message rejected for it (terminated, never delivered
    /// again). Either stayed in the bucket until its max age.</summary>
    internal async Task DeleteUnusedObjectAsync(string objectName)
    {
        try
        {
            var store = await ObjectStoreAsync(CancellationToken.None).ConfigureAwait(false);
            await store.DeleteAsync(objectName, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NatsException or OperationCanceledException or ObjectDisposedException)
        {
            Logger.LogDebug("bus: deleting unused object {Name} failed ({Error}); the bucket's max age removes it", objectName, e.Message);
        }
    }

    /// <summary>A decoded message (<paramref name="Ok"/>), or a rejected one (not Ok; with the name of its object when
    /// the object itself was rejected, to be deleted with the message), or, with
    /// <paramref name="TryLater"/>, one that could not be read now but is not broken: the feed gives it back.</summary>
    internal readonly record struct Decoded(bool Ok, object? Payload, string? ObjectName, bool TryLater = false);

    /// <summary>Whether the message's vector waits in the object store (its decode fetches and checks it: the one
    /// decode that can take long).</summary>
    internal static bool IsDenseObject(NatsHeaders? headers) =>
        headers is not null && headers.TryGetLastValue(KindHeader, out var kind) && kind == KindDenseObject;

    /// <summary>Turns a received body into the payload subscribers see; a body that fails verification is
    /// rejected here and never reaches them.</summary>
    internal async ValueTask<Decoded> DecodeAsync(string topic, NatsHeaders? headers, byte[]? data, CancellationToken cancellationToken)
    {
        string? kind = null;
        headers?.TryGetLastValue(KindHeader, out kind);
        try
        {
            switch (kind)
            {
                case null:
                    return new(true, data is null || data.Length == 0 ? null : JsonInput.Parse(data), null);
                case KindDenseInline:
                {
                    var (envelope, blob) = DensePayload.ReadInline(data ?? []);
                    // Read inside the message: copying the record out first cost one more record-sized array per message.
                    var vector = DensePriorFile.FromBytes(blob).Values;
                    return new(true, DensePayload.Join(envelope, vector), null);
                }
                case KindDenseObject:
                    return await FetchDenseAsync(topic, data ?? [], cancellationToken).ConfigureAwait(false);
                default:
                    Reject(topic, $"unknown message kind '{kind}'");
                    return default;
            }
        }
        catch (Exception e) when (IsMalformed(e))
        {
            Reject(topic, e.Message);
            return default;
        }
    }

    /// <summary>What a message's own content causes, so that redelivering it fails the same way. Not a broker
    /// error, a timeout or a closing connection: those leave the message to be redelivered.</summary>
    private static bool IsMalformed(Exception e) => e is InvalidInputException or JsonException;

    /// <summary>Tests only: awaited before each object fetch, to make a fetch take as long as a test needs (a slow
    /// fetch on a busy machine) without depending on the machine's speed. Null in use.</summary>
    internal Func<CancellationToken, Task>? BeforeObjectFetch { get; set; }

    /// <summary>Tests only: awaited before each lookup of an object that could not be read (to freeze the broker for
    /// it). Null in use.</summary>
    internal Func<CancellationToken, Task>? BeforeObjectLookup { get; set; }

    /// <summary>The largest buffer a dense message's own <c>size</c> field may reserve before the object is read
    /// (a 64M-parameter vector); a larger object still arrives, into a buffer that grows.</summary>
    internal const int MaxPresizeBytes = 256 << 20;

    private async ValueTask<Decoded> FetchDenseAsync(string topic, byte[] data, CancellationToken cancellationToken)
    {
        if (BeforeObjectFetch is { } before) await before(cancellationToken).ConfigureAwait(false);
        var envelope = JsonInput.Parse(data) as JsonObject ?? throw new InvalidInputException("dense message: envelope is not a JSON object");
        var reference = envelope[ObjectField] as JsonObject ?? throw new InvalidInputException($"dense message: {ObjectField} is missing");
        envelope.Remove(ObjectField);
        // Read with JsonRead: GetValue on a field of another type throws InvalidOperationException, which would end
        // the topic's feed instead of rejecting the message.
        var name = JsonRead.String(reference, "name", "", $"dense message: {ObjectField}");
        var expected = JsonRead.String(reference, "sha256", "", $"dense message: {ObjectField}");
        if (name.Length == 0) throw new InvalidInputException($"dense message: {ObjectField}.name is missing");
        if (expected.Length == 0) throw new InvalidInputException($"dense message: {ObjectField}.sha256 is missing");
        // The object is deleted once the message is rejected or consumed, and the bucket is shared by every prefix and
        // domain: a message naming an object not its own (another domain's, another prefix's) lost that update.
        if (!IsOwnObjectName(name, topic, MessageId(envelope)))
            throw new InvalidInputException($"dense message: {ObjectField}.name '{name}' is not this message's object (expected {Options.SubjectPrefix}/{topic}/{(MessageId(envelope) is { } id ? ObjectKey(id) : "<32 hex digits>")}, from its domain_id and sequence); the object is left as it is");
        // A hint only, from the message: trusted up to a bound, so one corrupt or hostile message cannot reserve 2 GB.
        var size = reference["size"] is JsonValue v && v.TryGetValue<long>(out var n) && n > 0 && n <= MaxPresizeBytes ? (int)n : 0;
        ReadOnlyMemory<byte> blob;
        string actual;
        INatsObjStore? store = null;
        // Sized from the message, so the chunks land in one buffer without regrowing or a final copy; the last fetch's
        // buffer when it is large enough.
        using var fetch = new FetchBuffer(this, size);
        try
        {
            store = await ObjectStoreAsync(cancellationToken).ConfigureAwait(false);
            var buffer = fetch.Stream;
            if (await ReadObjectAsync(store, name, buffer, cancellationToken).ConfigureAwait(false) is not { } info)
            {
                switch (await LookUpObjectAsync(store, name, cancellationToken).ConfigureAwait(false))
                {
                    case ObjectPresence.Deleted:
                        // Deleted after this fetch had read its info: another delivery of the message was consumed and
                        // acknowledged meanwhile, which deletes the object. The client then waited for its chunks for ever.
                        DropConsumedCopy(topic, name);
                        return default;
                    case ObjectPresence.Missing:
                        Reject(topic, $"object {name} is missing from bucket {Options.ObjectBucket} (removed while it was being read)");
                        return default;
                }
                Logger.LogWarning("bus: object {Name} of {Topic} sent no data for {Seconds} s; the message is given back to the broker to try again later", name, topic, Options.FetchStallTimeout.TotalSeconds);
                return new(false, null, null, TryLater: true);
            }
            // The store has checked the chunks against its own SHA-256 digest while reading them; comparing that
            // digest with the message's stands for hashing the object a second time.
            // The read has ended: nothing writes into the buffer any more, and it may serve the next fetch.
            fetch.ReadWhole = true;
            actual = DigestHex(info.Digest) ?? throw new NatsObjException($"object {name} has no SHA-256 digest");
            blob = new ReadOnlyMemory<byte>(buffer.GetBuffer(), 0, (int)buffer.Length);
        }
        catch (NatsObjNotFoundException)
        {
            // The store reports a deleted object as not found; its delete marker tells a copy of a consumed message
            // (the usual case: a redelivery that came after the first delivery's acknowledgement) from an object
            // that is not there at all (expired after object_max_age, or never stored), whose update is lost.
            switch (store is null ? ObjectPresence.Missing : await LookUpObjectAsync(store, name, cancellationToken).ConfigureAwait(false))
            {
                case ObjectPresence.Deleted:
                    DropConsumedCopy(topic, name);
                    return default;
                case ObjectPresence.Unknown:
                    // The broker did not say whether the object was deleted: rejecting would terminate the message and
                    // lose an update that may still be there (a broker briefly too slow to answer).
                    Logger.LogWarning("bus: object {Name} of {Topic} was not found and the broker did not answer within {Seconds} s whether it was deleted; the message is given back to the broker to try again later",
                        name, topic, Options.FetchStallTimeout.TotalSeconds);
                    return new(false, null, null, TryLater: true);
            }
            Reject(topic, $"object {name} is missing from bucket {Options.ObjectBucket}");
            return default;
        }
        catch (NatsObjException e)
        {
            Reject(topic, $"object {name} could not be read: {e.Message}");
            return default;
        }
        if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
        {
            Reject(topic, $"object {name}: SHA-256 mismatch (message says {expected}, object has {actual})");
            return new(false, null, name);
        }
        float[] vector;
        try
        {
            vector = DensePriorFile.FromBytes(blob).Values;
        }
        catch (InvalidInputException e)
        {
            Reject(topic, $"object {name}: {e.Message}");
            return new(false, null, name);
        }
        Interlocked.Increment(ref _objectsFetched);
        return new(true, DensePayload.Join(envelope, vector), name);
    }

    /// <summary>The buffer a large vector's object is read into. Kept, once decoded, for the next fetch when it was read
    /// to its end (a fetch given up or cancelled may still have the store's read writing into it: that one is disposed,
    /// so a late write fails instead of landing in another message's bytes) and holds exactly one record (not one grown
    /// past a wrong size hint): a fresh one per message cost 4 MB of large-object heap at D = 1M.</summary>
    private sealed class FetchBuffer(NatsEventBus bus, int size) : IDisposable
    {
        public MemoryStream Stream { get; } =
            Interlocked.Exchange(ref bus._spareFetch, null) is { } spare && spare.Capacity >= size ? spare : new MemoryStream(size);

        public bool ReadWhole { get; set; }

        public void Dispose()
        {
            if (ReadWhole && Stream.Length == Stream.Capacity)
            {
                Stream.SetLength(0);
                Volatile.Write(ref bus._spareFetch, Stream);
            }
            else
            {
                Stream.Dispose();
            }
        }
    }

    /// <summary>See <see cref="FetchBuffer"/>.</summary>
    private MemoryStream? _spareFetch;

    /// <summary>Reads object <paramref name="name"/> into <paramref name="buffer"/>; null when no byte arrived for
    /// <see cref="NatsBusOptions.FetchStallTimeout"/> (the fetch is then cancelled). The object store's read waits
    /// for chunks without limit, and chunks purged after it read the object's info never come.</summary>
    private async Task<ObjectMetadata?> ReadObjectAsync(INatsObjStore store, string name, MemoryStream buffer, CancellationToken cancellationToken)
    {
        using var stalled = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // The checks' delays end with the read: on the caller's long-lived token each object read left its last
        // delay's timer running for a quarter of the stall limit (a soak of 120 objects held about 130 timers).
        using var checking = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var reading = store.GetAsync(name, buffer, leaveOpen: true, stalled.Token).AsTask();
        var limit = Options.FetchStallTimeout;
        var check = limit / 4;
        var seen = -1L;
        var quietSince = Stopwatch.GetTimestamp();
        try
        {
            while (await Task.WhenAny(reading, Task.Delay(check, checking.Token)).ConfigureAwait(false) != reading)
            {
                cancellationToken.ThrowIfCancellationRequested();
                // Read while the store writes into it: only compared, so a stale value at worst delays the verdict.
                var length = buffer.Length;
                if (length != seen)
                {
                    seen = length;
                    quietSince = Stopwatch.GetTimestamp();
                }
                else if (Stopwatch.GetElapsedTime(quietSince) >= limit)
                {
                    await stalled.CancelAsync().ConfigureAwait(false);
                    try
                    {
                        // Finished just as it was given up: whole only if every byte came.
                        var info = await reading.ConfigureAwait(false);
                        return (ulong)buffer.Length == info.Size ? info : null;
                    }
                    catch (Exception e) when (e is OperationCanceledException or NatsException && !cancellationToken.IsCancellationRequested)
                    {
                        // However the client reports a read it was told to stop (cancelled, or the size or digest
                        // mismatch of a read cut short), it stalled.
                        return null;
                    }
                }
            }
            return await reading.ConfigureAwait(false);
        }
        finally
        {
            await checking.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <summary>What the bucket holds under an object's name: the object, its delete marker, nothing, or no answer.</summary>
    private enum ObjectPresence { There, Deleted, Missing, Unknown }

    /// <summary>Looks object <paramref name="name"/> up, deleted ones included; <see cref="ObjectPresence.Unknown"/>
    /// when the broker did not say within <see cref="NatsBusOptions.FetchStallTimeout"/>.</summary>
    private async Task<ObjectPresence> LookUpObjectAsync(INatsObjStore store, string name, CancellationToken cancellationToken)
    {
        if (BeforeObjectLookup is { } before) await before(cancellationToken).ConfigureAwait(false);
        using var asking = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        asking.CancelAfter(Options.FetchStallTimeout);
        try
        {
            var info = await store.GetInfoAsync(name, showDeleted: true, asking.Token).ConfigureAwait(false);
            return info.Deleted ? ObjectPresence.Deleted : ObjectPresence.There;
        }
        catch (NatsObjNotFoundException)
        {
            return ObjectPresence.Missing;
        }
        catch (Exception e) when (e is NatsException or TimeoutException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            Logger.LogDebug("bus: looking up object {Name} failed ({Error})", name, e.Message);
            return ObjectPresence.Unknown;
        }
    }

    /// <summary>Chunk size of objects put in the store: the server's max payload less room for the protocol,
    /// not the client's 128 KiB default, so that a 64 MB vector takes 64 stored round trips instead of 512. Never
    /// more than the max payload: a broker configured below 132 KiB refused every chunk of 128 KiB.</summary>
    private int ObjectChunkBytes => Math.Max(1024, (Connection.ServerInfo?.MaxPayload ?? 1024 * 1024) - 4 * 1024);

    /// <summary>The object store's digest <c>SHA-256=&lt;base64url&gt;</c> as lower-case hex; null when absent.</summary>
    internal static string? DigestHex(string? digest)
    {
        const string Prefix = "SHA-256=";
        if (digest is null || !digest.StartsWith(Prefix, StringComparison.Ordinal)) return null;
        var encoded = digest.AsSpan(Prefix.Length).TrimEnd('=');
        Span<byte> hash = stackalloc byte[32];
        return System.Buffers.Text.Base64Url.TryDecodeFromChars(encoded, hash, out var written) && written == 32
            ? Convert.ToHexStringLower(hash)
            : null;
    }

    private async ValueTask<(byte[] Body, string Kind, string? MessageId, string? ObjectName)> EncodeDenseAsync(string topic, object? payload, CancellationToken cancellationToken)
    {
        var (envelope, vector) = DensePayload.Split(payload, topic);
        var messageId = MessageId(envelope);
        var sequence = envelope["sequence"] is JsonValue s && WholeNumber(s) is { } seq ? seq : 0;
        // Written into a buffer of the record's exact size and used as it is: a 64 MB vector is not copied again.
        // The buffer is only read until this method returns (framed inline, or put in the store and hashed), so it is
        // kept for the next publish of the same size: a fresh one per update cost 4 MB of large-object heap (and a
        // gen-2 collection every few updates) at D = 1M, about as long again as writing and hashing the record.
        var size = DensePriorFile.HeaderSize + 4L * vector.Length + DensePriorFile.ChecksumSize;
        var spare = size <= Array.MaxLength ? Interlocked.Exchange(ref _spareRecord, null) : null;
        if (spare?.Length != size) spare = null;
        byte[] blob;
        using (var record = spare is null ? new MemoryStream((int)Math.Min(Array.MaxLength, size)) : new MemoryStream(spare))
        {
            DensePriorFile.Write(record, vector, Math.Max(0, sequence));
            blob = spare ?? (record.Length == record.Capacity ? record.GetBuffer() : record.ToArray());
        }
        try
        {
            return await EncodeRecordAsync(topic, envelope, blob, messageId, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (blob.Length == size) Volatile.Write(ref _spareRecord, blob);
        }
    }

    /// <summary>A record buffer of the last dense publish, reused by the next one of the same size (see
    /// <see cref="EncodeDenseAsync"/>); taken with <see cref="Interlocked.Exchange{T}(ref T, T)"/>, so two publishes
    /// at once never share it.</summary>
    private byte[]? _spareRecord;

    private async ValueTask<(byte[] Body, string Kind, string? MessageId, string? ObjectName)> EncodeRecordAsync(string topic, JsonObject envelope, byte[] blob, string? messageId, CancellationToken cancellationToken)
    {
        if (blob.Length < InlineLimitBytes)
        {
            var inline = DensePayload.FrameInline(envelope, blob);
            if (inline.Length <= InlineLimitBytes) return (inline, KindDenseInline, messageId, null);
        }

        // The bucket is shared by every prefix on the broker: without the prefix, two runs' domain-000 at sequence 1
        // overwrote (and, once acknowledged, deleted) each other's vector.
        var name = $"{Options.SubjectPrefix}/{topic}/{ObjectKey(messageId)}";
        // The store's requests wait for a lost connection to come back, without limit: a broker that is down (or died)
        // left this publish waiting for ever. It waits up to PublishTimeout, as a durable publish does.
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(Options.PublishTimeout);
        ObjectMetadata info;
        try
        {
            // A message of this id published before and not consumed yet holds this name: putting over it replaced the
            // vector under the stored message (its SHA-256 then mismatched and the update was rejected, while this
            // publish was dropped as a duplicate of it). This one's object takes a name of its own.
            if (messageId is not null && await ObjectExistsAsync(name, bounded.Token).ConfigureAwait(false))
                name += "/" + Guid.NewGuid().ToString("N");
            var meta = new ObjectMetadata { Name = name, Options = new MetaDataOptions { MaxChunkSize = ObjectChunkBytes } };
            info = await PutObjectAsync(meta, blob, bounded.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new NatsException(FormattableString.Invariant($"bus: the large vector of {topic} ({blob.Length} bytes) was not stored in the object bucket {Options.ObjectBucket} within {Options.PublishTimeout.TotalSeconds:0.#} s (is the broker up?)"));
        }
        Interlocked.Increment(ref _objectsPut);
        envelope[ObjectField] = new JsonObject
        {
            ["bucket"] = Options.ObjectBucket,
            ["name"] = name,
            // The digest the store computed while chunking (the same SHA-256 of the bytes): no second pass.
            ["sha256"] = DigestHex(info.Digest) ?? Convert.ToHexStringLower(SHA256.HashData(blob)),
            ["size"] = blob.Length,
        };
        return (JsonSerializer.SerializeToUtf8Bytes(envelope, WireJson.Options), KindDenseObject, messageId, name);
    }

    /// <summary>The longest message id an object's name holds as it is, in UTF-8 bytes.</summary>
    internal const int MaxObjectKeyBytes = 256;

    /// <summary>The last part of a large vector's object name: the message id, or its SHA-256 when longer than
    /// <see cref="MaxObjectKeyBytes"/> (the name travels base64-encoded in the subject of the object's metadata, and
    /// a domain id of a few thousand bytes made that subject longer than the broker's control line: the broker
    /// closed the connection at each try and the publish failed as if the broker were down); a fresh id without one.</summary>
    private static string ObjectKey(string? messageId) =>
        messageId is null ? Guid.NewGuid().ToString("N")
        : System.Text.Encoding.UTF8.GetByteCount(messageId) <= MaxObjectKeyBytes ? messageId
        : "sha256-" + Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(messageId)));

    /// <summary>Whether <paramref name="name"/> is a name <see cref="EncodeDenseAsync"/> gives the object of a message
    /// of <paramref name="topic"/> with <paramref name="messageId"/>: <c>{prefix}/{topic}/{key}</c>, with a fresh id
    /// appended for a retried publish (a fresh id alone as key without a message id).</summary>
    private bool IsOwnObjectName(string name, string topic, string? messageId)
    {
        var own = $"{Options.SubjectPrefix}/{topic}/";
        if (!name.StartsWith(own, StringComparison.Ordinal)) return false;
        var rest = name.AsSpan(own.Length);
        if (messageId is null) return IsFreshId(rest);
        var key = ObjectKey(messageId);
        if (!rest.StartsWith(key, StringComparison.Ordinal)) return false;
        rest = rest[key.Length..];
        return rest.IsEmpty || (rest[0] == '/' && IsFreshId(rest[1..]));

        static bool IsFreshId(ReadOnlySpan<char> id) => id.Length == 32 && !id.ContainsAnyExcept("0123456789abcdef");
    }

    /// <summary>Whether the bucket holds an object (not deleted) named <paramref name="name"/>; true when the broker
    /// answers with an error other than not found (a fresh name is always safe).</summary>
    private async Task<bool> ObjectExistsAsync(string name, CancellationToken cancellationToken)
    {
        var store = await ObjectStoreAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await store.GetInfoAsync(name, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (NatsObjNotFoundException)
        {
            return false;
        }
        catch (NatsException)
        {
            return true;
        }
    }

    private async Task<ObjectMetadata> PutObjectAsync(ObjectMetadata meta, byte[] blob, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var store = await ObjectStoreAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                return await store.PutAsync(meta, new MemoryStream(blob, writable: false), cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (attempt < 8 && (e is NatsJSPublishNoResponseException || JetStreamUnavailable(e)))
            {
                // No one stores the chunks: the bucket may be gone (a broker restarted without its state, removed by
                // hand), and a cached handle would never make it again. The next try creates or finds it anew.
                if (e is NatsJSPublishNoResponseException) Interlocked.CompareExchange(ref _objectStore, null, store);
                // nats-server 2.9: of processes creating the bucket at the same moment, one can be answered with the
                // other's bucket before it stores anything, so that its first chunk finds no one (no responders), and
                // a broker busy creating streams may leave the put's own lookup unanswered. Each try is a new object.
                await Task.Delay(TimeSpan.FromMilliseconds(25 << attempt), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The dedupe id of domain work: <c>{domain_id}:{sequence}</c>, null unless both are present.</summary>
    internal static string? MessageId(JsonObject? payload)
    {
        if (payload?["domain_id"] is not JsonValue domain || !domain.TryGetValue<string>(out var domainId)) return null;
        // It travels as the Nats-Msg-Id header, whose value cannot hold a line break or other control character: the
        // client refused every send of it, which read as a broker that never confirmed it.
        if (domainId.Any(char.IsControl))
            throw new InvalidInputException($"domain_id '{domainId.ReplaceLineEndings(" ")}': must not contain control characters (it is the message id's header value)");
        if (payload["sequence"] is not JsonValue sequence) return null;
        return WholeNumber(sequence) is { } n ? $"{domainId}:{n}" : null;
    }

    /// <summary>A sequence as a whole number, whatever numeric type an in-process payload holds it in (a JsonValue made
    /// from an int answers TryGetValue&lt;long&gt; with false: such a dense update got no message id, so a retried
    /// publish was stored twice, and its vector's record the round 0); null when it is none.</summary>
    private static long? WholeNumber(JsonValue value)
    {
        // long, ulong and decimal exactly (past 2^53 a double rounds); every other numeric type through JsonRead.NumberOf.
        if (value.TryGetValue<long>(out var n)) return n;
        if (value.TryGetValue<ulong>(out var ul)) return ul <= long.MaxValue ? (long)ul : null;
        if (value.TryGetValue<decimal>(out var m)) return m == decimal.Truncate(m) && m >= long.MinValue && m <= long.MaxValue ? (long)m : null;
        if (value.GetValueKind() != JsonValueKind.Number) return null;
        var d = JsonRead.NumberOf(value);
        return double.IsFinite(d) && d == Math.Floor(d) && Math.Abs(d) < 9.2e18 ? (long)d : null;
    }

    /// <summary>The shared bucket of large vectors, created on first use. A subscriber of a dense topic creates it when
    /// it subscribes: nats-server 2.9 can crash (a nil dereference in its message get) when several processes create
    /// the bucket at the same moment and store into it at once — workers starting together on a fresh broker — and
    /// a bucket that already exists is only looked up.</summary>
    internal async ValueTask<INatsObjStore> ObjectStoreAsync(CancellationToken cancellationToken)
    {
        if (_objectStore is { } ready) return ready;
        await _objectStoreGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_objectStore is { } made) return made;
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    return _objectStore = await _objects.CreateObjectStoreAsync(
                        new NatsObjConfig(Options.ObjectBucket) { MaxAge = Options.ObjectMaxAge, Storage = NatsObjStorageType.File },
                        cancellationToken).ConfigureAwait(false);
                }
                catch (NatsJSApiException e) when (e.Error.ErrCode == 10058)
                {
                    // The bucket is shared by every run on the broker and exists with other settings (another max age,
                    // made by another version or tool): use it as it is; creating it again with this process's
                    // settings is refused for as long as it exists, and a receiver took that refusal for a lost
                    // consumer, for ever.
                    Logger.LogWarning("bus: the object bucket {Bucket} exists with other settings than this process's ({Error}); using it as it is", Options.ObjectBucket, e.Message);
                    return _objectStore = await _objects.GetObjectStoreAsync(Options.ObjectBucket, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (attempt < 8 && (LostCreationRace(e) || JetStreamUnavailable(e)))
                {
                    // The second of two processes creating the bucket at the same moment (workers starting together) is
                    // answered "subjects overlap" (10058, other settings, is taken above), and a broker busy creating
                    // streams may leave the request unanswered: asked again, the bucket is there.
                    Logger.LogDebug("bus: creating the object bucket {Bucket} failed ({Error}); asking again", Options.ObjectBucket, e.Message);
                    await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt), cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _objectStoreGate.Release();
        }
    }
}
