using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Learning;

/// <summary>Reads a domain's named parameters from a JSON object ({name: number}, non-finite as strings).</summary>
public static class DomainParameters
{
    /// <summary>Adds the entries of <paramref name="section"/> to <paramref name="into"/>; a name seen before is
    /// overwritten (a later section wins, as in a dictionary merge). Null adds nothing.</summary>
    public static void ReadInto(JsonObject? section, string path, IDictionary<string, double> into)
    {
        if (section is null) return;
        foreach (var (name, node) in section)
        {
            var where = JsonRead.Join(path, name);
            // A name the saved prior could not hold apart from another (see DomainIds).
            if (!DomainIds.IsWellFormed(name)) throw new InvalidInputException($"{where}: the name is not well-formed Unicode (a lone surrogate)");
            into[name] = node is null ? throw new InvalidInputException($"{where}: expected a number, got null") : JsonRead.ToNumber(node, where);
        }
    }

    /// <summary>The entries of <paramref name="section"/> as a name -> value map.</summary>
    public static Dictionary<string, double> FromJson(JsonObject? section, string path)
    {
        var map = new Dictionary<string, double>(StringComparer.Ordinal);
        ReadInto(section, path, map);
        return map;
    }
}
