using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Governance;

/// <summary>
/// Turns a payload built in code into the form it would have after a broker: a JSON object parsed from its wire
/// text. Such nodes answer <c>GetValue&lt;double&gt;</c>, <c>&lt;int&gt;</c> and <c>&lt;long&gt;</c> alike, whereas a
/// value created from a long only answers <c>GetValue&lt;long&gt;</c>; subscribers that read numbers as doubles
/// (<see cref="JsonRead"/>) then work on in-process payloads too.
/// </summary>
internal static class WirePayload
{
    public static JsonObject Of(JsonObject built) =>
        (JsonObject)JsonNode.Parse(built.ToJsonString(WireJson.Options))!;

    public static JsonArray Of(JsonArray built) =>
        (JsonArray)JsonNode.Parse(built.ToJsonString(WireJson.Options))!;
}
