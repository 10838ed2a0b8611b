namespace Meta.Gpu.Storage;

/// <summary>A domain's last update vector as kept in <c>domain_vectors.json</c> (DESIGN §11).</summary>
/// <param name="Keys">Parameter names, in the order of <paramref name="Vector"/>.</param>
/// <param name="Vector">One value per key (float32 updates widen to double exactly).</param>
public sealed record DomainVector(IReadOnlyList<string> Keys, IReadOnlyList<double> Vector)
{
    /// <summary>Throws <see cref="InvalidInputException"/> when keys and values do not pair up.</summary>
    public DomainVector Validated(string path)
    {
        ArgumentNullException.ThrowIfNull(Keys);
        ArgumentNullException.ThrowIfNull(Vector);
        if (Keys.Count != Vector.Count)
            throw new InvalidInputException($"{path}: {Keys.Count} keys but {Vector.Count} values");
        for (var i = 0; i < Keys.Count; i++)
        {
            if (Keys[i] is null) throw new InvalidInputException($"{path}.keys[{i}]: null");
        }
        return this;
    }
}
