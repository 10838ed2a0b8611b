using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Storage;

/// <summary>
/// Where and how the engine keeps its priors (DESIGN §11, config section <c>storage</c>).
/// </summary>
/// <param name="Root">Folder of <c>global_prior.json</c>, <c>domain_vectors.json</c>, <c>dense_prior.mgpu</c>
/// and <c>backups/</c>; created on the first save; default <c>meta_storage</c> (relative to the working folder).</param>
/// <param name="Retention">Timestamped backups kept per file, newest first, &gt;= 0; default 10. With 0 no backup
/// is written, so a corrupt file has nothing to fall back to.</param>
public sealed record StorageConfig(string Root = StorageConfig.DefaultRoot, int Retention = 10)
{
    public const string DefaultRoot = "meta_storage";

    public static StorageConfig Default { get; } = new();

    private static readonly string[] Keys = ["root", "retention"];

    /// <summary>Throws <see cref="InvalidInputException"/> naming the first field out of range.</summary>
    public StorageConfig Validated(string path = "storage")
    {
        if (string.IsNullOrWhiteSpace(Root)) throw new InvalidInputException($"{path}.root: must be a non-empty folder path");
        if (Root.AsSpan().IndexOfAny(Path.GetInvalidPathChars()) >= 0)
            throw new InvalidInputException($"{path}.root: contains characters not allowed in a path: \"{Root}\"");
        if (Retention < 0) throw new InvalidInputException(FormattableString.Invariant($"{path}.retention: must be >= 0, got {Retention}"));
        return this;
    }

    /// <summary>Applies a JSON section over these settings: a missing key keeps this value, an unknown key is an error.</summary>
    public StorageConfig With(JsonObject? section, string path = "storage")
    {
        if (section is null) return Validated(path);
        JsonRead.RequireKnownKeys(section, path, Keys);
        return (this with
        {
            Root = JsonRead.String(section, "root", Root, path),
            Retention = JsonRead.SettingInt(section, "retention", Retention, path),
        }).Validated(path);
    }

    /// <summary>The section as JSON. Numbers are stored as double nodes: <see cref="JsonRead"/> reads an in-memory
    /// node only as the type it holds, and doubles are what it reads.</summary>
    public JsonObject ToJson() => new()
    {
        ["root"] = Root,
        ["retention"] = (double)Retention,
    };
}
