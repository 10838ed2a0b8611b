using Meta.Gpu.Compute;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Meta.Gpu.TorchSharp.Tests;

public sealed class ParameterVectorTests
{
    private static nn.Module<Tensor, Tensor> Mlp(long seed)
    {
        manual_seed(seed);
        return nn.Sequential(("a", nn.Linear(3, 5)), ("act", nn.Tanh()), ("b", nn.Linear(5, 2)));
    }

    [Fact]
    public void Layout_follows_named_parameters()
    {
        using var model = Mlp(1);
        using var vector = new ParameterVector(model);
        Assert.Equal(["a.weight", "a.bias", "b.weight", "b.bias"], vector.Names);
        Assert.Equal([0, 15, 20, 30, 32], vector.Offsets);
        Assert.Equal(32, vector.Length);

        var flat = new float[vector.Length];
        vector.CopyTo(flat);
        var expected = model.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();
        Assert.Equal(expected, flat);
    }

    [Fact]
    public void Round_trip_is_bit_exact_and_the_module_computes_with_the_new_values()
    {
        using var model = Mlp(2);
        using var vector = new ParameterVector(model);
        var random = new Random(7);
        var values = new float[vector.Length];
        for (var i = 0; i < values.Length; i++) values[i] = (float)(random.NextDouble() * 2 - 1) * MathF.PI;
        values[3] = float.Epsilon;
        values[4] = -0.0f;

        vector.CopyFrom(values);
        var back = new float[vector.Length];
        vector.CopyTo(back);
        Assert.Equal(values.Select(BitConverter.SingleToInt32Bits), back.Select(BitConverter.SingleToInt32Bits));

        // Same values in a second module give the same outputs: the parameters really changed in place.
        using var other = Mlp(3);
        using var otherVector = new ParameterVector(other);
        otherVector.CopyFrom(back);
        var input = rand(4, 3);
        Assert.Equal(model.call(input).data<float>().ToArray(), other.call(input).data<float>().ToArray());
    }

    [Fact]
    public void Domain_batch_rows_round_trip()
    {
        using var model = Mlp(4);
        using var vector = new ParameterVector(model);
        var batch = new DomainBatch(3, vector.Length);
        vector.CopyTo(batch, 2);
        var original = batch.Row(2).ToArray();

        for (var i = 0; i < vector.Length; i++) batch.Row(1)[i] = i * 0.5f;
        vector.CopyFrom(batch, 1);
        vector.CopyTo(batch, 0);
        Assert.Equal(batch.Row(1).ToArray(), batch.Row(0).ToArray());
        Assert.NotEqual(original, batch.Row(0).ToArray());
        Assert.Equal(Enumerable.Repeat(0f, batch.Stride - batch.Columns), batch.Values.AsSpan(batch.Columns, batch.Stride - batch.Columns).ToArray());
    }

    [Fact]
    public void Copies_do_not_allocate_per_parameter()
    {
        // 40 parameters: a per-parameter allocation would cost well over 40 x 24 bytes a round.
        manual_seed(5);
        var layers = Enumerable.Range(0, 20).Select(i => ($"l{i}", (nn.Module<Tensor, Tensor>)nn.Linear(4, 4))).ToArray();
        using var model = nn.Sequential(layers);
        using var vector = new ParameterVector(model);
        Assert.Equal(40, vector.Names.Count);
        var buffer = new float[vector.Length];
        for (var warm = 0; warm < 3; warm++)
        {
            vector.CopyTo(buffer);
            vector.CopyFrom(buffer);
        }

        const int rounds = 200;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var round = 0; round < rounds; round++)
        {
            vector.CopyTo(buffer);
            vector.CopyFrom(buffer);
        }
        var perRound = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)rounds;
        Assert.True(perRound < 200, $"{perRound} bytes allocated per round");
    }

    [Fact]
    public void Wrong_sizes_are_refused_without_touching_the_module()
    {
        using var model = Mlp(6);
        using var vector = new ParameterVector(model);
        var before = new float[vector.Length];
        vector.CopyTo(before);

        Assert.Throws<ArgumentException>(() => vector.CopyFrom(new float[vector.Length - 1]));
        Assert.Throws<ArgumentException>(() => vector.CopyTo(new float[vector.Length - 1]));
        Assert.Throws<ArgumentException>(() => vector.CopyFrom(new DomainBatch(1, vector.Length + 1), 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => vector.CopyFrom(new DomainBatch(1, vector.Length), 1));

        var after = new float[vector.Length];
        vector.CopyTo(after);
        Assert.Equal(before, after);
    }

    [Fact]
    public void Non_float32_parameters_are_refused()
    {
        using var model = nn.Linear(2, 2, dtype: ScalarType.Float64);
        var e = Assert.Throws<ArgumentException>(() => new ParameterVector(model));
        Assert.Contains("float32", e.Message, StringComparison.Ordinal);
    }

    // A setup helper that builds the training loop inside its own dispose scope: the staging tensors were disposed
    // with the scope and every copy after it failed ("Tensor invalid -- empty handle").
    [Fact]
    public void A_vector_made_inside_a_dispose_scope_outlives_it()
    {
        using var model = Mlp(7);
        ParameterVector vector;
        using (NewDisposeScope()) vector = new ParameterVector(model);
        using var _ = vector;
        var values = Enumerable.Range(0, vector.Length).Select(i => (float)i).ToArray();

        vector.CopyFrom(values);
        var back = new float[vector.Length];
        vector.CopyTo(back);

        Assert.Equal(values, back);
    }

    // Assigning a new Parameter to a property (or module.to(...) to another dtype) disposes the old one: a copy
    // failed with "Tensor invalid -- empty handle" after writing the parameters before it.
    [Fact]
    public void A_parameter_replaced_since_the_vector_was_made_is_refused_by_name_before_anything_is_written()
    {
        manual_seed(8);
        using var model = nn.Linear(2, 1);
        using var vector = new ParameterVector(model);
        var weight = model.weight!.data<float>().ToArray();
        model.bias = new Parameter(zeros(1));

        var e = Assert.Throws<InvalidOperationException>(() => vector.CopyFrom(new float[] { 7, 7, 7 }));

        Assert.Contains("'bias'", e.Message, StringComparison.Ordinal);
        Assert.Contains("new ParameterVector", e.Message, StringComparison.Ordinal);
        Assert.Equal(weight, model.weight!.data<float>().ToArray());
    }

    private sealed class WithEmpty : nn.Module
    {
        public WithEmpty() : base("with_empty")
        {
            register_parameter("none", new Parameter(empty(0)));
            register_parameter("w", new Parameter(zeros(2, 3)));
            register_parameter("nothing", new Parameter(empty(0, 4)));
            register_parameter("b", new Parameter(zeros(2)));
        }
    }

    [Fact]
    public void NameAt_names_the_parameter_holding_each_value()
    {
        using var model = new WithEmpty();
        using var vector = new ParameterVector(model);

        var names = Enumerable.Range(0, vector.Length).Select(vector.NameAt).ToArray();

        Assert.Equal(["w", "w", "w", "w", "w", "w", "b", "b"], names);
        Assert.Throws<ArgumentOutOfRangeException>(() => vector.NameAt(vector.Length));
        Assert.Throws<ArgumentOutOfRangeException>(() => vector.NameAt(-1));
    }

    [Fact]
    public void A_longer_span_is_taken_and_only_its_first_Length_values_are_used()
    {
        using var model = Mlp(6);
        using var vector = new ParameterVector(model);
        var values = Enumerable.Range(0, vector.Length + 2).Select(i => i * 0.5f).ToArray();

        vector.CopyFrom(values);
        var read = Enumerable.Repeat(-7f, vector.Length + 2).ToArray();
        vector.CopyTo(read);

        Assert.Equal(values[..vector.Length], read[..vector.Length]);
        Assert.Equal([-7f, -7f], read[vector.Length..]);
    }

    // README: PyTorch's parameters_to_vector layout, "frozen ones included, ... buffers (BatchNorm's running
    // statistics) left out", and "another dtype is refused naming the parameter".
    [Fact]
    public void Frozen_parameters_are_in_the_vector_buffers_are_not_and_another_dtype_is_refused_naming_it()
    {
        manual_seed(8);
        using var model = nn.Sequential(("a", nn.Linear(2, 2)), ("norm", nn.BatchNorm1d(2)));
        foreach (var parameter in model.parameters().Take(2)) parameter.requires_grad = false;
        using var vector = new ParameterVector(model);
        Assert.Equal(["a.weight", "a.bias", "norm.weight", "norm.bias"], vector.Names);
        Assert.Equal(10, vector.Length);

        using var mixed = nn.Sequential(("a", nn.Linear(2, 2)), ("b", nn.Linear(2, 2, dtype: ScalarType.Float64)));
        var e = Assert.Throws<ArgumentException>(() => new ParameterVector(mixed));
        Assert.Contains("'b.weight'", e.Message, StringComparison.Ordinal);
    }
}
