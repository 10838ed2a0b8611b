using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.TorchSharp.Tests;

public sealed class EngineOuterStepTests
{
    /// <summary>The engine doing what the host step does: a weighted mean, no outlier filter, no diversity balancing.</summary>
    private static readonly CrossMetaConfig PlainMean = new(Method: AggregationMethod.Mean, OutlierFilter: false, DiversityEntropyTarget: null);

    /// <summary>Two rows of two columns, each row one value.</summary>
    private static DomainBatch TwoRows(float first, double firstConfidence, float second, double secondConfidence)
    {
        var batch = new DomainBatch(2, 2);
        batch.Row(0).Fill(first);
        batch.Row(1).Fill(second);
        batch.Confidences[0] = firstConfidence;
        batch.Confidences[1] = secondConfidence;
        batch.MarkChanged();
        return batch;
    }

    private static DomainBatch RandomBatch(int rows, int columns, int seed)
    {
        var random = new Random(seed);
        var batch = new DomainBatch(rows, columns);
        for (var r = 0; r < rows; r++)
        {
            var row = batch.Row(r);
            for (var c = 0; c < columns; c++) row[c] = (float)(random.NextDouble() * 4 - 2);
            batch.Confidences[r] = 0.2 + 0.8 * random.NextDouble();
            batch.Ids[r] = $"d{r}";
        }
        batch.MarkChanged();
        return batch;
    }

    [Fact]
    public void With_a_plain_weighted_mean_the_engine_takes_the_same_step_as_the_host_reference()
    {
        var batch = RandomBatch(7, 300, 1);
        var config = PlainMean;
        var enginePrior = Enumerable.Range(0, 300).Select(i => i * 0.01f).ToArray();
        var hostPrior = enginePrior.ToArray();

        using var engine = new EngineOuterStep(ComputeBackends.Create("cpu"), config);
        using var host = new WeightedMeanReptileStep();
        var e = engine.Step(batch, enginePrior, 0.3);
        var h = host.Step(batch, hostPrior, 0.3);

        Assert.Equal("cpu", engine.Backend);
        Assert.Equal(7, e.Participants);
        Assert.Equal(h.Participants, e.Participants);
        Assert.Equal("mean", e.Method);
        for (var i = 0; i < hostPrior.Length; i++)
            Assert.True(Math.Abs(enginePrior[i] - hostPrior[i]) <= 1e-5 + 1e-5 * Math.Abs(hostPrior[i]), $"column {i}: {enginePrior[i]} vs {hostPrior[i]}");
    }

    [Fact]
    public void The_default_engine_step_drops_an_outlier_domain()
    {
        var batch = RandomBatch(8, 64, 2);
        batch.Row(5).Fill(1000f); // one domain far from the rest
        batch.MarkChanged();
        var prior = new float[64];

        using var engine = (EngineOuterStep)OuterSteps.Create("cpu");
        var result = engine.Step(batch, prior, 1.0);

        Assert.Equal(["d5"], result.Outliers);
        Assert.Equal(7, result.Participants);
        Assert.Equal("trimmed_mean", result.Method);
        Assert.All(prior, v => Assert.InRange(v, -2f, 2f)); // the outlier did not pull the prior
    }

    [Fact]
    public void Unknown_backends_are_refused_with_the_valid_names()
    {
        var e = Assert.Throws<InvalidInputException>(() => OuterSteps.Create("warp-drive"));
        Assert.Contains("cpu", e.Message, StringComparison.Ordinal);
        Assert.IsType<WeightedMeanReptileStep>(OuterSteps.Create("host"));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-0.1)]
    [InlineData(double.NaN)]
    public void The_host_step_refuses_a_min_confidence_that_is_not_above_zero(double minConfidence)
    {
        // At 0, a round whose domains all reported confidence 0 took part with a weight sum of 0: every prior value
        // became 0/0.
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new WeightedMeanReptileStep(minConfidence));
        Assert.Equal("minConfidence", error.ParamName);
    }

    [Fact]
    public void The_host_step_created_with_a_configuration_takes_its_min_confidence()
    {
        // The configuration was dropped without a word: the host step kept 0.05.
        using var step = OuterSteps.Create("host", new CrossMetaConfig(MinConfidence: 0.5));
        var batch = TwoRows(1f, 0.9, 3f, 0.2);
        float[] prior = [0f, 0f];
        Assert.Equal(1, step.Step(batch, prior, 1.0).Participants);
        Assert.Equal([1f, 1f], prior);
        Assert.StartsWith("cross.min_confidence:", Assert.Throws<InvalidInputException>(() => OuterSteps.Create("host", new CrossMetaConfig(MinConfidence: 0))).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void A_beta_that_is_not_finite_is_refused_by_both_steps_and_the_prior_is_left_as_it_was(double beta)
    {
        var batch = TwoRows(1f, 1, 4f, 1);
        foreach (var step in new IOuterStep[] { new WeightedMeanReptileStep(), OuterSteps.Create("cpu", PlainMean) })
        {
            using (step)
            {
                float[] prior = [0.5f, 0.5f];
                var error = Assert.ThrowsAny<ArgumentOutOfRangeException>(() => step.Step(batch, prior, beta));
                Assert.Contains("beta", error.Message, StringComparison.Ordinal);
                Assert.Equal([0.5f, 0.5f], prior);
            }
        }
    }

    // Confidences near double's range overflowed the host step's sums: inf / inf wrote NaN into every prior value
    // (the engine's step took the same batch).
    [Fact]
    public void The_host_step_takes_huge_confidences_as_the_engine_does()
    {
        var batch = TwoRows(1f, 1e308, 4f, 0.5e308);
        float[] prior = [0f, 0f];
        using var step = new WeightedMeanReptileStep();

        var result = step.Step(batch, prior, 1.0);

        Assert.Equal([2f, 2f], prior);
        float[] enginePrior = [0f, 0f];
        using var engine = OuterSteps.Create("cpu", PlainMean);
        engine.Step(batch, enginePrior, 1.0);
        Assert.Equal(enginePrior, prior);
        Assert.Equal(2, result.Participants);
        Assert.Equal(0.75e308, result.ConfidenceMean, 1e295);
        Assert.Equal(1.8, result.EffectiveDomains, 12);
    }

    // The host step ignored the mask: absent cells were averaged in as values (the prior pulled toward 0), a NaN in
    // an absent cell left the row out, and a column no row sent moved all the same.
    [Fact]
    public void With_a_mask_the_host_step_takes_the_same_step_as_the_engine()
    {
        var batch = new DomainBatch(3, 3, withMask: true);
        batch.Row(0)[0] = 1f;
        batch.Row(0)[1] = 1f;
        batch.MaskRow(0)[0] = 1;
        batch.MaskRow(0)[1] = 1;
        batch.Row(1)[1] = 3f;
        batch.Row(1)[2] = float.NaN; // absent: never read as data
        batch.MaskRow(1)[1] = 1;
        batch.Row(2).Fill(50f); // sent nothing
        batch.Confidences[0] = 1;
        batch.Confidences[1] = 0.5;
        batch.Confidences[2] = 1;
        batch.MarkChanged();
        float[] prior = [0f, 0f, 7f];
        using var step = new WeightedMeanReptileStep();

        var result = step.Step(batch, prior, 1.0);

        float[] enginePrior = [0f, 0f, 7f];
        using var engine = OuterSteps.Create("cpu", PlainMean);
        var engineResult = engine.Step(batch, enginePrior, 1.0);
        Assert.Equal([1f, (float)((1.0 + 0.5 * 3) / 1.5), 7f], prior);
        Assert.Equal(enginePrior, prior);
        Assert.Equal(2, result.Participants);
        Assert.Equal(engineResult.Participants, result.Participants);
    }

    /// <summary>An invalid configuration is refused before any backend is made: a device backend made first was never
    /// disposed. Where the machine has no CUDA device the old order showed as the device's error instead.</summary>
    [Theory]
    [InlineData("cuda")]
    [InlineData("ilgpu-cpu")]
    [InlineData("cpu")]
    public void An_invalid_config_is_refused_before_the_backend_is_made(string backend)
    {
        var error = Assert.Throws<InvalidInputException>(() => OuterSteps.Create(backend, PlainMean with { TrimAlpha = 0.7 }));

        Assert.Contains("trim_alpha", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A disposed step refuses to step on every backend: on the cpu backend, which holds nothing to free, it
    /// went on stepping.</summary>
    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void A_disposed_step_refuses_to_step(string backend)
    {
        var step = OuterSteps.Create(backend, PlainMean);
        step.Dispose();
        var batch = TwoRows(1f, 1.0, 3f, 1.0);
        var prior = new float[2];

        Assert.Throws<ObjectDisposedException>(() => step.Step(batch, prior, 0.5));
        Assert.Equal([0f, 0f], prior);
    }

    // DESIGN §4: a confidence below min_confidence is left out; "equal is kept", on the host step as on the engine's.
    [Fact]
    public void A_confidence_equal_to_min_confidence_is_kept_by_both_steps()
    {
        var config = PlainMean with { MinConfidence = 0.25 };
        foreach (var step in new IOuterStep[] { OuterSteps.Create("host", config), OuterSteps.Create("cpu", config) })
        {
            using (step)
            {
                var batch = TwoRows(1f, 0.25, 3f, 0.2499);
                float[] prior = [0f, 0f];
                Assert.Equal(1, step.Step(batch, prior, 1.0).Participants);
                Assert.Equal([1f, 1f], prior);
            }
        }
    }
}
