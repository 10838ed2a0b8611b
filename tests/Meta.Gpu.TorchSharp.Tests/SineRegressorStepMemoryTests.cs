using Meta.Gpu.TorchSharp.Sine;
using global::TorchSharp;

namespace Meta.Gpu.TorchSharp.Tests;

/// <summary>
/// The inner loop holds a fixed number of tensors whatever its step count: each SGD step's forward pass, loss and
/// graph are released before the next step, not kept until the loop ends (`meta-gpu demo --inner-steps 2000000`
/// grew by about 50 MB a second, every step's tensors held by one dispose scope around the whole loop).
/// </summary>
public sealed class SineRegressorStepMemoryTests
{
    [Fact]
    public void Live_tensors_during_Adapt_do_not_grow_with_the_step_count()
    {
        using var model = new SineRegressor(1, 0.01);
        float[] x = [-2, -1, 0, 1, 2];
        float[] y = [0.5f, -0.25f, 0, 0.25f, -0.5f];
        // Tensors alive on this thread (the inner loop runs on it) as each step's forward pass ends.
        var live = new List<long>();
        // On the output layer: the Sequential calls its layers with their hooks (Adapt calls the Sequential's forward).
        var output = (global::TorchSharp.Modules.Linear)model.Module.named_children().Single(c => c.name == "output").module;
        var hook = output.register_forward_hook((_, _, result) =>
        {
            live.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount);
            return result;
        });

        model.Adapt(x, y, 400);
        hook.remove();

        Assert.Equal(400, live.Count);
        // Step 10 onwards (past any one-time allocation of the first steps): the same count at step 400 as at step 10.
        Assert.True(live[^1] - live[9] <= 2,
            $"live tensors grew from {live[9]} at step 10 to {live[^1]} at step 400 ({(live[^1] - live[9]) / 390.0:F1} a step)");
    }
}
