using Meta.Gpu.Compute;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Meta.Gpu.TorchSharp;

/// <summary>
/// A module's parameters as one flat float32 vector: copies them to and from a span or a <see cref="DomainBatch"/>
/// row without allocating per parameter, so a training loop can do it every meta-round.
/// </summary>
/// <remarks>
/// Layout: the module's parameters in <c>named_parameters()</c> order (registration order, the order PyTorch's
/// <c>parameters_to_vector</c> uses), each flattened row-major; a tied weight (one tensor registered under two
/// names, <c>head.weight = emb.weight</c>) is held once, under its first name, as PyTorch's <c>parameters()</c>
/// does; <see cref="Names"/> and <see cref="Offsets"/> say where each one lives. The vector is staged in a pinned host buffer that a host tensor shares, with one
/// view per parameter made once here; a copy is then one <c>copy_</c> per parameter (which returns its receiver:
/// no managed allocation, and it moves data across devices when the module lives on a GPU) plus one span copy.
/// Only float32 parameters are supported (the engine's element type). The parameter set is fixed at
/// construction: replacing a module's parameter objects afterwards (not moving them in place) needs a new
/// instance; a copy into or from a parameter disposed since (module.to(...), a new Parameter assigned to a property)
/// is refused before it writes anything, and <see cref="EnsureParametersOf"/> checks the whole set.
/// </remarks>
public sealed class ParameterVector : IDisposable
{
    private readonly Parameter[] _parameters;
    // named_parameters() as it was at construction, tied duplicates included: what EnsureParametersOf compares.
    private readonly Parameter[] _moduleParameters;
    private readonly string[] _moduleNames;
    private readonly string[] _names;
    private readonly int[] _offsets;
    private readonly Tensor _host;
    private readonly Tensor[] _views;
    private readonly float[] _buffer;
    private bool _disposed;

    public ParameterVector(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        var named = module.named_parameters().ToArray();
        if (named.Length == 0) throw new ArgumentException("the module has no parameters", nameof(module));

        _moduleParameters = named.Select(p => p.parameter).ToArray();
        _moduleNames = named.Select(p => p.name).ToArray();
        var kept = new List<(string name, Parameter parameter)>(named.Length);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, parameter) in named)
        {
            if (parameter.dtype != ScalarType.Float32)
                throw new ArgumentException($"parameter '{name}' is {parameter.dtype}; only float32 parameters are supported", nameof(module));
            // A tied weight (head.weight = emb.weight) is listed under both names as two Parameter objects over one
            // tensor: it was held twice (D too long) and written twice, the second copy overwriting the first.
            if (TensorKey(parameter) is { } key && !seen.Add(key)) continue;
            kept.Add((name, parameter));
        }

        _parameters = new Parameter[kept.Count];
        var names = new string[kept.Count];
        var offsets = new int[kept.Count + 1];
        long total = 0;
        for (var i = 0; i < kept.Count; i++)
        {
            var (name, parameter) = kept[i];
            _parameters[i] = parameter;
            names[i] = name;
            offsets[i] = checked((int)total);
            total += parameter.numel();
        }
        // Zero-element parameters only: as for none (frombuffer failed on the empty vector with "offset: 0").
        if (total == 0) throw new ArgumentException("the module has no parameters with values (every one has zero elements)", nameof(module));
        offsets[^1] = checked((int)total);
        Length = offsets[^1];
        _names = names;
        _offsets = offsets;

        _buffer = GC.AllocateArray<float>(Length, pinned: true);
        // The staging tensors live as long as this instance, not as long as a dispose scope the caller happens to
        // have open: made inside one (a setup helper, a per-epoch scope), they were disposed with it and every
        // later copy failed on an empty handle.
        _host = frombuffer(_buffer, ScalarType.Float32, Length, 0, false).DetachFromDisposeScope();
        _views = new Tensor[_parameters.Length];
        for (var i = 0; i < _parameters.Length; i++)
        {
            using var slice = _host.narrow(0, offsets[i], offsets[i + 1] - offsets[i]);
            _views[i] = slice.view(_parameters[i].shape).DetachFromDisposeScope();
        }
    }

    /// <summary>D: the number of float32 values across all parameters.</summary>
    public int Length { get; }

    /// <summary>Parameter names, in vector order.</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>Start of each parameter in the vector; the last entry is <see cref="Length"/>.</summary>
    public IReadOnlyList<int> Offsets => _offsets;

    /// <summary>The name of the parameter that holds value <paramref name="index"/> of the vector.</summary>
    public string NameAt(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Length);
        var i = Array.BinarySearch(_offsets, index);
        // Zero-element parameters share their start with the next one: the value belongs to the last of them.
        if (i >= 0)
            while (i + 1 < _offsets.Length && _offsets[i + 1] == index) i++;
        else
            i = ~i - 1;
        return _names[i];
    }

    /// <summary>Writes the module's current parameter values into <paramref name="destination"/> (at least
    /// <see cref="Length"/> long; the first Length values are written).</summary>
    public void CopyTo(Span<float> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckLength(destination.Length, nameof(destination));
        CheckParameters();
        using (no_grad())
        {
            for (var i = 0; i < _parameters.Length; i++)
                _views[i].copy_(_parameters[i]);
        }
        _buffer.AsSpan().CopyTo(destination);
    }

    /// <summary>Sets the module's parameters from <paramref name="source"/> (its first <see cref="Length"/> values),
    /// in place: optimizers and anything else holding the parameter objects keep working.</summary>
    public void CopyFrom(ReadOnlySpan<float> source) => CopyIn(source, intactOnly: false);

    /// <summary>As <see cref="CopyFrom(ReadOnlySpan{float})"/>, into every parameter that is still alive, leaving out
    /// any disposed since (replaced in the module): how a failed round puts back what it still can. The checked copy
    /// refused on the replaced one before writing any, and the rest kept a domain's adaptation.</summary>
    internal void CopyFromIntact(ReadOnlySpan<float> source) => CopyIn(source, intactOnly: true);

    private void CopyIn(ReadOnlySpan<float> source, bool intactOnly)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckLength(source.Length, nameof(source));
        if (!intactOnly) CheckParameters();
        source[..Length].CopyTo(_buffer);
        using (no_grad())
        {
            for (var i = 0; i < _parameters.Length; i++)
                if (!(intactOnly && _parameters[i].IsInvalid)) _parameters[i].copy_(_views[i]);
        }
    }

    /// <summary>Writes the module's parameters into row <paramref name="row"/> of <paramref name="batch"/> and bumps
    /// its <see cref="DomainBatch.Version"/>. Values only: in a batch with a mask, which cells of the row count is
    /// the caller's to say (a new masked batch has none present; <c>batch.MaskRow(row).Fill(1)</c> makes the whole
    /// vector count).</summary>
    public void CopyTo(DomainBatch batch, int row)
    {
        ArgumentNullException.ThrowIfNull(batch);
        CheckBatch(batch, row);
        CopyTo(batch.Row(row));
        // A backend that keeps the batch resident (cuda, opencl, ilgpu-cpu) uploads it again only for a new version:
        // rows written into a reused batch were stepped from the values it held before.
        batch.MarkChanged();
    }

    /// <summary>Sets the module's parameters from row <paramref name="row"/> of <paramref name="batch"/>.</summary>
    public void CopyFrom(DomainBatch batch, int row)
    {
        ArgumentNullException.ThrowIfNull(batch);
        CheckBatch(batch, row);
        CopyFrom(batch.Row(row));
    }

    /// <summary>Refuses to copy, before writing anything, when the module's parameter set is no longer the one this
    /// vector was made for: one of its parameters was replaced (a new object under the same name, or the old one
    /// disposed) or one was added or removed.</summary>
    /// <exception cref="InvalidOperationException">Naming the first parameter that differs.</exception>
    public void EnsureParametersOf(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var i = 0;
        foreach (var (name, parameter) in module.named_parameters())
        {
            if (i >= _moduleParameters.Length)
                throw new InvalidOperationException($"parameter '{name}' was added to the module after its ParameterVector was made; {Remedy}");
            if (!ReferenceEquals(parameter, _moduleParameters[i]) || name != _moduleNames[i])
                throw new InvalidOperationException($"parameter '{_moduleNames[i]}' of the module was replaced after its ParameterVector was made; {Remedy}");
            i++;
        }
        if (i < _moduleParameters.Length)
            throw new InvalidOperationException($"parameter '{_moduleNames[i]}' was removed from the module after its ParameterVector was made; {Remedy}");
        CheckParameters();
    }

    private const string Remedy =
        "make a new ParameterVector (and MetaTrainingLoop) for the module as it is now (module.to(...) to another dtype or device replaces every parameter)";

    // A parameter replaced through a module's property or by module.to(...) is disposed: copying into it failed with
    // "Tensor invalid -- empty handle" after the parameters before it had been written.
    private void CheckParameters()
    {
        for (var i = 0; i < _parameters.Length; i++)
            if (_parameters[i].IsInvalid)
                throw new InvalidOperationException($"parameter '{_names[i]}' was disposed after its ParameterVector was made; {Remedy}");
    }

    // Where a tensor's values live: device, storage, offset, shape and strides; two parameters with one key are one
    // tensor. None for a zero-element parameter (nothing to share).
    private static string? TensorKey(Parameter parameter)
    {
        if (parameter.numel() == 0) return null;
        // storage<float>() makes a tensor handle of its own: the scope releases it.
        using var scope = NewDisposeScope();
        var storage = parameter.storage<float>().data_ptr();
        return $"{parameter.device_type}:{parameter.device_index}:{storage}+{parameter.storage_offset()}:{string.Join(',', parameter.shape)}:{string.Join(',', parameter.stride())}";
    }

    private void CheckLength(int length, string name)
    {
        if (length < Length)
            throw new ArgumentException($"{name} holds {length} values; the module has {Length} parameters", name);
    }

    private void CheckBatch(DomainBatch batch, int row)
    {
        if (batch.Columns != Length)
            throw new ArgumentException($"the batch has {batch.Columns} columns; the module has {Length} parameters", nameof(batch));
        if ((uint)row >= (uint)batch.Rows)
            throw new ArgumentOutOfRangeException(nameof(row), row, $"row must be in [0, {batch.Rows})");
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var view in _views) view.Dispose();
        _host.Dispose();
    }
}
