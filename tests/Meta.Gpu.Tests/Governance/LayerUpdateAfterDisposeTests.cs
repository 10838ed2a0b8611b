using Meta.Gpu.Governance;
using static Meta.Gpu.Tests.Governance.GovernanceTestData;

namespace Meta.Gpu.Tests.Governance;

/// <summary>
/// A disposed layer refuses <see cref="MetaIntegrativeLayer.Update"/> the same way whatever its policy log: it went
/// on governing when it had no log (or the caller's), and failed with the closed file writer's own error when it
/// owned one, after the call's decisions had been made.
/// </summary>
public sealed class LayerUpdateAfterDisposeTests
{
    [Fact]
    public void Update_after_dispose_without_a_policy_log_throws_object_disposed_naming_the_layer()
    {
        var layer = new MetaIntegrativeLayer();
        layer.Update(Calm);
        layer.Dispose();

        var error = Assert.Throws<ObjectDisposedException>(() => layer.Update(Calm));

        Assert.Equal(typeof(MetaIntegrativeLayer).FullName, error.ObjectName);
        Assert.Equal(1, layer.State.DecisionCount);
    }

    [Fact]
    public void Update_after_dispose_with_a_policy_log_file_throws_object_disposed_naming_the_layer()
    {
        var path = Path.Combine(Path.GetTempPath(), $"policy-{Guid.NewGuid():N}.jsonl");
        try
        {
            var layer = new MetaIntegrativeLayer(null, new MetaIntegrativeLayerOptions { PolicyLogPath = path });
            layer.Update(Calm);
            layer.Dispose();

            var error = Assert.Throws<ObjectDisposedException>(() => layer.Update(Calm));

            Assert.Equal(typeof(MetaIntegrativeLayer).FullName, error.ObjectName);
            Assert.Equal(1, layer.State.DecisionCount);
            Assert.Single(File.ReadAllLines(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Update_after_dispose_with_the_callers_policy_log_throws_and_writes_nothing()
    {
        var log = new StringWriter();
        var layer = new MetaIntegrativeLayer(null, new MetaIntegrativeLayerOptions { PolicyLog = log });
        layer.Update(Calm);
        layer.Dispose();

        var error = Assert.Throws<ObjectDisposedException>(() => layer.Update(Calm));

        Assert.Equal(typeof(MetaIntegrativeLayer).FullName, error.ObjectName);
        Assert.Single(log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Update_after_dispose_is_refused_as_disposed_before_its_telemetry_is_checked()
    {
        var layer = new MetaIntegrativeLayer();
        layer.Dispose();

        Assert.Throws<ObjectDisposedException>(() => layer.Update(null!));
        Assert.Throws<ObjectDisposedException>(() => layer.Update(Calm with { VramUtil = double.NaN }));
    }

    [Fact]
    public void Dispose_twice_is_harmless()
    {
        var path = Path.Combine(Path.GetTempPath(), $"policy-{Guid.NewGuid():N}.jsonl");
        try
        {
            var layer = new MetaIntegrativeLayer(null, new MetaIntegrativeLayerOptions { PolicyLogPath = path });
            layer.Dispose();
            layer.Dispose();
        }
        finally
        {
            File.Delete(path);
        }
    }
}
