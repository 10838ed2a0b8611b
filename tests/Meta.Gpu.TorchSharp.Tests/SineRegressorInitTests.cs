using Meta.Gpu.TorchSharp.Sine;
using static TorchSharp.torch;

namespace Meta.Gpu.TorchSharp.Tests;

/// <summary>
/// The sine network's initial weights come from its seed alone. They are the weights libtorch's default init gives
/// after <c>manual_seed(seed)</c> (the demo's figures were taken with those), but drawn from a generator of the
/// model's own: built from libtorch's one process-wide generator, a model built while another thread drew from it
/// got weights that depended on timing.
/// </summary>
public sealed class SineRegressorInitTests
{
    [Fact]
    public void The_initial_weights_are_those_of_manual_seed_and_the_default_linear_init()
    {
        var expected = DefaultInitAfterManualSeed(42);

        using var model = new SineRegressor(42, 0.05);

        AssertSameBits(expected, Weights(model));
    }

    [Fact]
    public async Task A_model_built_while_another_thread_draws_from_the_global_generator_gets_the_weights_of_its_seed()
    {
        float[] expected;
        using (var reference = new SineRegressor(42, 0.05)) expected = Weights(reference);

        using var stop = new CancellationTokenSource();
        var drawer = Task.Factory.StartNew(() =>
        {
            // As a test class or a user's code running beside the demo would: seed, then build a module.
            while (!stop.IsCancellationRequested)
            {
                manual_seed(7);
                using var other = nn.Linear(40, 40);
            }
        }, TaskCreationOptions.LongRunning);
        try
        {
            for (var i = 0; i < 40; i++)
            {
                using var model = new SineRegressor(42, 0.05);
                AssertSameBits(expected, Weights(model));
            }
        }
        finally
        {
            await stop.CancelAsync();
            await drawer;
        }
    }

    private static float[] DefaultInitAfterManualSeed(long seed)
    {
        manual_seed(seed);
        using var hidden1 = nn.Linear(1, 40);
        using var hidden2 = nn.Linear(40, 40);
        using var output = nn.Linear(40, 1);
        return new[] { hidden1, hidden2, output }
            .SelectMany(layer => layer.parameters())
            .SelectMany(p => p.data<float>().ToArray())
            .ToArray();
    }

    private static float[] Weights(SineRegressor model) =>
        model.Module.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();

    private static void AssertSameBits(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        var differing = expected.Zip(actual).Count(p => BitConverter.SingleToInt32Bits(p.First) != BitConverter.SingleToInt32Bits(p.Second));
        Assert.True(differing == 0, $"{differing} of {expected.Length} initial weights differ");
    }
}
