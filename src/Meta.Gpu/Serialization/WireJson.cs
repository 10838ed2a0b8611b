using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Meta.Gpu.Serialization;

/// <summary>
/// The one set of JSON settings for everything that crosses a boundary (bus, files, command line):
/// snake_case names (DESIGN §2) and non-finite numbers written as the strings "nan", "inf", "-inf" (DESIGN §14).
/// </summary>
public static class WireJson
{
    public static readonly JsonSerializerOptions Options = CreateOptions(indented: false);

    public static readonly JsonSerializerOptions Indented = CreateOptions(indented: true);

    private static JsonSerializerOptions CreateOptions(bool indented)
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DictionaryKeyPolicy = null,
            WriteIndented = indented,
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
            // Nothing here is embedded in HTML: the default encoder wrote the reason "low_accept + latency_high" as
            // "low_accept \u002B latency_high" and any non-ASCII domain id as escapes, which a reader of the policy
            // log or of govern's output could not read or grep. Quotes, backslashes and control characters are still
            // escaped, as JSON requires.
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        options.Converters.Add(new WireDoubleConverter());
        options.Converters.Add(new WireFloatConverter());
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>A JSON node for a double: a number, or "nan" / "inf" / "-inf" for non-finite values.</summary>
    public static JsonNode Number(double value) =>
        double.IsFinite(value) ? JsonValue.Create(value) : JsonValue.Create(NonFiniteName(value));

    public static string NonFiniteName(double value) =>
        double.IsNaN(value) ? "nan" : value > 0 ? "inf" : "-inf";

    /// <summary>Parses "nan", "inf", "-inf" (any case, also "infinity", "+inf"); null when not one of them.</summary>
    public static double? ParseNonFinite(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        "nan" or "-nan" or "+nan" => double.NaN,
        "inf" or "+inf" or "infinity" or "+infinity" => double.PositiveInfinity,
        "-inf" or "-infinity" => double.NegativeInfinity,
        _ => null,
    };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    private sealed class WireDoubleConverter : JsonConverter<double>
    {
        public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType == JsonTokenType.String)
            {
                var text = reader.GetString();
                return ParseNonFinite(text) ?? throw new JsonException($"expected a number, got \"{text}\"");
            }
            return reader.GetDouble();
        }

        public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
        {
            if (double.IsFinite(value)) writer.WriteNumberValue(value);
            else writer.WriteStringValue(NonFiniteName(value));
        }
    }

    private sealed class WireFloatConverter : JsonConverter<float>
    {
        public override float Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType == JsonTokenType.String)
            {
                var text = reader.GetString();
                return (float)(ParseNonFinite(text) ?? throw new JsonException($"expected a number, got \"{text}\""));
            }
            return reader.GetSingle();
        }

        public override void Write(Utf8JsonWriter writer, float value, JsonSerializerOptions options)
        {
            if (float.IsFinite(value)) writer.WriteNumberValue(value);
            else writer.WriteStringValue(NonFiniteName(value));
        }
    }
}
