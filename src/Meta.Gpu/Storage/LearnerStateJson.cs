using System.Globalization;
using System.Text.Json;

namespace Meta.Gpu.Storage;

/// <summary>
/// The two learning-state files kept beside DESIGN §11's (an extension: README "Storage"), in <see cref="ChecksummedJson"/>'s envelope, keys sorted, numbers
/// in the shortest form that reads back to the same double (non-finite as "nan"/"inf"/"-inf"):
/// <code>
/// learner_state.json      { ..., "learners": { "domains": { "&lt;id&gt;": { "confidence", "ema_score", "history": [...],
///                           "last_observed_sequence" (optional), "last_score", "observations", "previous_params": {...} } },
///                           "optimizer": { "beta", "reward_ema" },
///                           "pending" (optional): { "&lt;id&gt;": { "confidence", "keys": [...], "reward", "score_delta",
///                           "sequence" (optional), "timestamp", "vector": [...] } }, "prior_sha256": "&lt;hex&gt;" } }
/// dense_lane_state.json   { ..., "dense_lane": { "dense_prior_sha256": "&lt;hex&gt;",
///                           "last_scores": { "&lt;id&gt;": { "before", "score", "sequence" } },
///                           "optimizer": { "beta", "reward_ema" } } }
/// </code>
/// </summary>
/// <remarks>
/// Each names the prior file it belongs to by that file's SHA-256 (<c>prior_sha256</c>: of all the bytes of
/// <c>global_prior.json</c>; <c>dense_prior_sha256</c>: the dense file's own checksum). The state is written before
/// its prior, so a crash between the two leaves a state one save newer than the prior; the loader takes the newest
/// copy that names the prior it loaded.
/// </remarks>
internal static class LearnerStateJson
{
    public const string KeyedFormat = "meta-gpu.learner_state";
    public const string KeyedContent = "learners";
    public const string DenseFormat = "meta-gpu.dense_lane_state";
    public const string DenseContent = "dense_lane";

    public static byte[] EncodeKeyed(SavedLearnerState state, string priorSha256)
    {
        ArgumentNullException.ThrowIfNull(state);
        return ChecksummedJson.Encode(KeyedFormat, KeyedContent, writer =>
        {
            writer.WriteStartObject();
            writer.WriteStartObject("domains");
            foreach (var (domain, learner) in state.Domains.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                writer.WriteStartObject(domain);
                writer.WritePropertyName("confidence");
                MetaStorageManager.WriteNumber(writer, learner.Confidence);
                writer.WritePropertyName("ema_score");
                if (learner.EmaScore is { } ema) MetaStorageManager.WriteNumber(writer, ema);
                else writer.WriteNullValue();
                writer.WriteStartArray("history");
                foreach (var delta in learner.History) MetaStorageManager.WriteNumber(writer, delta);
                writer.WriteEndArray();
                if (learner.LastObservedSequence is { } sequence) writer.WriteNumber("last_observed_sequence", sequence);
                writer.WritePropertyName("last_score");
                MetaStorageManager.WriteNumber(writer, learner.LastScore);
                writer.WriteNumber("observations", learner.Observations);
                writer.WriteStartObject("previous_params");
                foreach (var (key, value) in learner.PreviousParams.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    writer.WritePropertyName(key);
                    MetaStorageManager.WriteNumber(writer, value);
                }
                writer.WriteEndObject();
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
            WriteOptimizer(writer, state.Optimizer);
            // Only a clean stop saves with pending updates: every other file reads as before.
            if (state.Pending is { Count: > 0 } pending) WritePending(writer, pending);
            writer.WriteString("prior_sha256", priorSha256);
            writer.WriteEndObject();
        });
    }

    /// <summary>The state and the SHA-256 of the prior file it belongs to.</summary>
    /// <exception cref="InvalidInputException">Naming <paramref name="label"/> and what is wrong.</exception>
    public static (SavedLearnerState State, string PriorSha256) DecodeKeyed(byte[] bytes, string label) =>
        ChecksummedJson.Decode(bytes, KeyedFormat, KeyedContent, label, content =>
        {
            var path = $"{label}: {KeyedContent}";
            RequireObject(content, path);
            var domains = new SortedDictionary<string, SavedDomainLearner>(StringComparer.Ordinal);
            foreach (var domain in Property(content, "domains", path).EnumerateObjectChecked($"{path}.domains"))
            {
                // What the learner's restore refuses is refused here too (an empty id, a non-finite last score, an
                // EMA missing or non-finite after observations): saved, such a state was passed over at the next
                // start with a warning and every learner started fresh.
                if (domain.Name.Length == 0) throw new InvalidInputException($"{path}.domains: a domain id is empty");
                var at = $"{path}.domains.{domain.Name}";
                var node = domain.Value;
                RequireObject(node, at);
                var confidence = Confidence(node, at);
                var emaNode = Property(node, "ema_score", at);
                double? ema = emaNode.ValueKind == JsonValueKind.Null ? null : MetaStorageManager.ReadNumber(emaNode, $"{at}.ema_score");
                var history = new List<double>();
                var i = 0;
                foreach (var delta in Property(node, "history", at).EnumerateArrayChecked($"{at}.history")) history.Add(MetaStorageManager.ReadNumber(delta, $"{at}.history[{i++}]"));
                long? observedSequence = node.TryGetProperty("last_observed_sequence", out var s)
                    ? Integer(s, $"{at}.last_observed_sequence", min: 0)
                    : null;
                var observations = Integer(Property(node, "observations", at), $"{at}.observations", min: 0);
                if (observations > 0 && ema is null)
                    throw new InvalidInputException($"{at}.ema_score: missing after {observations} observations");
                if (observations > 0 && !double.IsFinite(ema!.Value))
                    throw new InvalidInputException(FormattableString.Invariant($"{at}.ema_score: must be finite, got {ema}"));
                var previous = new SortedDictionary<string, double>(StringComparer.Ordinal);
                foreach (var param in Property(node, "previous_params", at).EnumerateObjectChecked($"{at}.previous_params"))
                    if (!previous.TryAdd(param.Name, MetaStorageManager.ReadNumber(param.Value, $"{at}.previous_params.{param.Name}")))
                        throw new InvalidInputException($"{at}.previous_params.{param.Name}: duplicate key");
                var learner = new SavedDomainLearner(ema, Finite(node, "last_score", at), confidence, history, previous, observations, observedSequence);
                if (!domains.TryAdd(domain.Name, learner)) throw new InvalidInputException($"{at}: duplicate domain");
            }
            var pending = content.TryGetProperty("pending", out var p) ? ReadPending(p, $"{path}.pending") : null;
            return (new SavedLearnerState(domains, ReadOptimizer(content, path), pending), Sha256(content, "prior_sha256", path));
        });

    public static byte[] EncodeDense(SavedDenseLaneState state, string densePriorSha256)
    {
        ArgumentNullException.ThrowIfNull(state);
        return ChecksummedJson.Encode(DenseFormat, DenseContent, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("dense_prior_sha256", densePriorSha256);
            writer.WriteStartObject("last_scores");
            foreach (var (domain, score) in state.LastScores.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                writer.WriteStartObject(domain);
                writer.WritePropertyName("before");
                MetaStorageManager.WriteNumber(writer, score.Before);
                writer.WritePropertyName("score");
                MetaStorageManager.WriteNumber(writer, score.Score);
                writer.WriteNumber("sequence", score.Sequence);
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
            WriteOptimizer(writer, state.Optimizer);
            writer.WriteEndObject();
        });
    }

    /// <summary>The state and the checksum of the dense prior it belongs to.</summary>
    /// <exception cref="InvalidInputException">Naming <paramref name="label"/> and what is wrong.</exception>
    public static (SavedDenseLaneState State, string DensePriorSha256) DecodeDense(byte[] bytes, string label) =>
        ChecksummedJson.Decode(bytes, DenseFormat, DenseContent, label, content =>
        {
            var path = $"{label}: {DenseContent}";
            RequireObject(content, path);
            var scores = new SortedDictionary<string, SavedDenseScore>(StringComparer.Ordinal);
            foreach (var domain in Property(content, "last_scores", path).EnumerateObjectChecked($"{path}.last_scores"))
            {
                var at = $"{path}.last_scores.{domain.Name}";
                RequireObject(domain.Value, at);
                var score = new SavedDenseScore(Integer(Property(domain.Value, "sequence", at), $"{at}.sequence", min: 0),
                    Number(domain.Value, "score", at), Number(domain.Value, "before", at));
                if (!scores.TryAdd(domain.Name, score)) throw new InvalidInputException($"{at}: duplicate domain");
            }
            return (new SavedDenseLaneState(ReadOptimizer(content, path), scores), Sha256(content, "dense_prior_sha256", path));
        });

    private static void WritePending(Utf8JsonWriter writer, IReadOnlyDictionary<string, SavedPendingPack> pending)
    {
        writer.WriteStartObject("pending");
        foreach (var (domain, pack) in pending.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            writer.WriteStartObject(domain);
            writer.WritePropertyName("confidence");
            MetaStorageManager.WriteNumber(writer, pack.Confidence);
            writer.WriteStartArray("keys");
            foreach (var key in pack.Keys) writer.WriteStringValue(key);
            writer.WriteEndArray();
            writer.WritePropertyName("reward");
            MetaStorageManager.WriteNumber(writer, pack.Reward);
            writer.WritePropertyName("score_delta");
            MetaStorageManager.WriteNumber(writer, pack.ScoreDelta);
            if (pack.Sequence is { } sequence) writer.WriteNumber("sequence", sequence);
            writer.WriteString("timestamp", pack.Timestamp.ToString("O", CultureInfo.InvariantCulture));
            writer.WriteStartArray("vector");
            // A float32 widened to double is exact, and read back to the same float.
            foreach (var value in pack.Vector) MetaStorageManager.WriteNumber(writer, value);
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        writer.WriteEndObject();
    }

    /// <summary>The pending updates: each as the validator passed it (finite, confidence in [0, 1], one value per
    /// key, keys distinct in ordinal order).</summary>
    private static SortedDictionary<string, SavedPendingPack> ReadPending(JsonElement node, string path)
    {
        var pending = new SortedDictionary<string, SavedPendingPack>(StringComparer.Ordinal);
        foreach (var domain in node.EnumerateObjectChecked(path))
        {
            if (domain.Name.Length == 0) throw new InvalidInputException($"{path}: a domain id is empty");
            var at = $"{path}.{domain.Name}";
            var pack = domain.Value;
            RequireObject(pack, at);
            var confidence = Confidence(pack, at);
            var keys = new List<string>();
            foreach (var key in Property(pack, "keys", at).EnumerateArrayChecked($"{at}.keys"))
            {
                // "" is a parameter name the agent takes (and the prior and previous_params keep): refusing it here
                // threw away the whole learner state saved beside it.
                if (key.ValueKind != JsonValueKind.String || key.GetString() is not { } name)
                    throw new InvalidInputException($"{at}.keys[{keys.Count}]: expected a string");
                if (keys.Count > 0 && string.CompareOrdinal(keys[^1], name) >= 0)
                    throw new InvalidInputException($"{at}.keys[{keys.Count}]: \"{name}\" is not after \"{keys[^1]}\" (keys are distinct, in ordinal order)");
                keys.Add(name);
            }
            var vector = new List<float>();
            foreach (var element in Property(pack, "vector", at).EnumerateArrayChecked($"{at}.vector"))
            {
                var value = MetaStorageManager.ReadNumber(element, $"{at}.vector[{vector.Count}]");
                if (!double.IsFinite(value) || (double)(float)value != value)
                    throw new InvalidInputException(FormattableString.Invariant($"{at}.vector[{vector.Count}]: expected a finite float32 value, got {value}"));
                vector.Add((float)value);
            }
            if (vector.Count != keys.Count)
                throw new InvalidInputException($"{at}.vector: {vector.Count} values for {keys.Count} keys");
            var reward = Finite(pack, "reward", at);
            var scoreDelta = Finite(pack, "score_delta", at);
            long? sequence = pack.TryGetProperty("sequence", out var s) ? Integer(s, $"{at}.sequence", min: 0) : null;
            var stamp = Property(pack, "timestamp", at);
            if (stamp.ValueKind != JsonValueKind.String
                || !DateTimeOffset.TryParseExact(stamp.GetString(), "O", CultureInfo.InvariantCulture, DateTimeStyles.None, out var timestamp))
                throw new InvalidInputException($"{at}.timestamp: expected a round-trip (ISO 8601, \"O\") date and time");
            if (!pending.TryAdd(domain.Name, new SavedPendingPack(sequence, keys, vector, reward, confidence, timestamp, scoreDelta)))
                throw new InvalidInputException($"{at}: duplicate domain");
        }
        return pending;
    }

    private static double Confidence(JsonElement node, string path)
    {
        var confidence = Number(node, "confidence", path);
        return confidence >= 0 && confidence <= 1 ? confidence : throw new InvalidInputException(FormattableString.Invariant($"{path}.confidence: must be in [0, 1], got {confidence}"));
    }

    private static double Finite(JsonElement node, string name, string path)
    {
        var value = Number(node, name, path);
        return double.IsFinite(value) ? value : throw new InvalidInputException(FormattableString.Invariant($"{path}.{name}: must be finite, got {value}"));
    }

    private static void WriteOptimizer(Utf8JsonWriter writer, SavedOptimizerState optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        writer.WriteStartObject("optimizer");
        writer.WritePropertyName("beta");
        MetaStorageManager.WriteNumber(writer, optimizer.Beta);
        writer.WritePropertyName("reward_ema");
        MetaStorageManager.WriteNumber(writer, optimizer.RewardEma);
        writer.WriteEndObject();
    }

    private static SavedOptimizerState ReadOptimizer(JsonElement content, string path)
    {
        var node = Property(content, "optimizer", path);
        var at = $"{path}.optimizer";
        RequireObject(node, at);
        var beta = Number(node, "beta", at);
        // 0 is a beta the optimizer reaches (optimizer.beta_min_factor 0 lets it decay to 0 under load).
        if (!(double.IsFinite(beta) && beta >= 0)) throw new InvalidInputException(FormattableString.Invariant($"{at}.beta: must be a finite number >= 0, got {beta}"));
        return new SavedOptimizerState(beta, Finite(node, "reward_ema", at));
    }

    private static string Sha256(JsonElement content, string name, string path)
    {
        var node = Property(content, name, path);
        if (node.ValueKind != JsonValueKind.String || node.GetString() is not { Length: 64 } hex || !hex.All(char.IsAsciiHexDigit))
            throw new InvalidInputException($"{path}.{name}: expected 64 hex digits");
        return hex.ToLowerInvariant();
    }

    private static JsonElement Property(JsonElement node, string name, string path) =>
        node.TryGetProperty(name, out var value) ? value : throw new InvalidInputException($"{path}.{name}: missing");

    private static double Number(JsonElement node, string name, string path) =>
        MetaStorageManager.ReadNumber(Property(node, name, path), $"{path}.{name}");

    private static long Integer(JsonElement node, string path, long min)
    {
        if (node.ValueKind != JsonValueKind.Number || !node.TryGetInt64(out var value) || value < min)
            throw new InvalidInputException($"{path}: expected an integer >= {min}");
        return value;
    }

    private static void RequireObject(JsonElement node, string path)
    {
        if (node.ValueKind != JsonValueKind.Object) throw new InvalidInputException($"{path}: expected an object, got {node.ValueKind}");
    }

    private static JsonElement.ArrayEnumerator EnumerateArrayChecked(this JsonElement node, string path) =>
        node.ValueKind == JsonValueKind.Array ? node.EnumerateArray() : throw new InvalidInputException($"{path}: expected an array, got {node.ValueKind}");

    private static JsonElement.ObjectEnumerator EnumerateObjectChecked(this JsonElement node, string path)
    {
        RequireObject(node, path);
        return node.EnumerateObject();
    }
}
