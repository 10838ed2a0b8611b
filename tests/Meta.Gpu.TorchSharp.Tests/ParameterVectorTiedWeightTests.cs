using Meta.Gpu.Compute;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Meta.Gpu.TorchSharp.Tests;

/// <summary>Weight tying: a language model's output layer shares its embedding's weight (<c>head.weight =
/// emb.weight</c>). TorchSharp lists the shared weight under both names, as two Parameter objects over one tensor;
/// the vector held it twice (D one weight too long, unlike PyTorch's <c>parameters_to_vector</c>, whose layout the
/// vector documents), and a copy into the module wrote it twice, the second copy silently overwriting the first.</summary>
public sealed class ParameterVectorTiedWeightTests
{
    private sealed class TiedLanguageModel : nn.Module<Tensor, Tensor>
    {
        private readonly Embedding emb;
        private readonly Linear head;

        public TiedLanguageModel() : base("tied")
        {
            emb = nn.Embedding(5, 3);
            head = nn.Linear(3, 5);
            head.weight = emb.weight!;
            RegisterComponents();
        }

        public Parameter Embedding => emb.weight!;

        public Parameter Head => head.weight!;

        public override Tensor forward(Tensor tokens) => head.call(emb.call(tokens));
    }

    [Fact]
    public void A_weight_shared_by_two_layers_is_in_the_vector_once()
    {
        manual_seed(1);
        using var model = new TiedLanguageModel();
        using var vector = new ParameterVector(model);

        Assert.Equal(["emb.weight", "head.bias"], vector.Names);
        Assert.Equal([0, 15, 20], vector.Offsets);
        Assert.Equal(20, vector.Length);
    }

    [Fact]
    public void Values_written_into_a_tied_module_read_back_as_written_and_stay_tied()
    {
        manual_seed(2);
        using var model = new TiedLanguageModel();
        using var vector = new ParameterVector(model);
        var values = Enumerable.Range(0, vector.Length).Select(i => i + 0.5f).ToArray();

        vector.CopyFrom(values);
        var back = new float[vector.Length];
        vector.CopyTo(back);

        Assert.Equal(values, back);
        Assert.Equal(model.Embedding.data<float>().ToArray(), model.Head.data<float>().ToArray());
    }

    [Fact]
    public async Task A_round_over_a_tied_module_steps_the_shared_weight_and_the_module_still_trains()
    {
        manual_seed(3);
        using var model = new TiedLanguageModel();
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep());
        var tokens = tensor(new long[] { 0, 1, 2, 3, 4 });

        await loop.RunRoundAsync(["a", "b"], id =>
        {
            using var scope = NewDisposeScope();
            using var optimizer = optim.SGD(model.parameters(), 0.1);
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(tokens), tokens);
            loss.backward();
            optimizer.step();
            return new DomainOutcome(id, 1, 0.5, 1);
        });

        Assert.Equal(20, loop.Prior.Length);
        Assert.Equal(loop.Prior[..15].ToArray(), model.Embedding.data<float>().ToArray());
        Assert.Equal(loop.Prior[..15].ToArray(), model.Head.data<float>().ToArray());
        Assert.True(model.Embedding.requires_grad);
    }
}
