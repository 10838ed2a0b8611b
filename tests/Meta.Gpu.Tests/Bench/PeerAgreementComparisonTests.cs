using Meta.Gpu.Cli.Bench;

namespace Meta.Gpu.Tests.Bench;

/// <summary>
/// How a peer's result is compared with the engine's: DESIGN §13's 1e-4 abs + 1e-4 rel of the engine's value, NaN
/// agreeing only with NaN (both "no value"), an infinity only with the same one; and what a peer row then says.
/// </summary>
public sealed class PeerAgreementComparisonTests
{
    private static BenchResult PeerRow() => BenchResult.Timed("median", "numpy", 4, 3, [1.0], 48, 20.0);

    [Theory]
    [InlineData(1.0f, 1.00015f, true)] // 1.5e-4 <= 1e-4 + 1e-4 x 1
    [InlineData(1.0f, 1.0003f, false)]
    [InlineData(0f, 0.00009f, true)]
    [InlineData(0f, 0.00011f, false)]
    [InlineData(1000f, 1000.09f, true)] // the relative part: 1e-4 + 0.1
    [InlineData(1000f, 1000.2f, false)]
    [InlineData(float.NaN, float.NaN, true)]
    [InlineData(float.NaN, 0f, false)]
    [InlineData(0f, float.NaN, false)]
    [InlineData(float.PositiveInfinity, float.PositiveInfinity, true)]
    [InlineData(float.PositiveInfinity, float.NegativeInfinity, false)]
    [InlineData(3f, float.PositiveInfinity, false)]
    public void A_value_agrees_within_the_design_tolerance_and_nan_only_with_nan(float engine, float peer, bool agrees)
    {
        var comparison = PeerAgreement.Compare([5f, engine, -2f], [5f, peer, -2f]);
        Assert.Equal(agrees, comparison.Agrees);
        Assert.Equal(agrees ? 0 : 1, comparison.Disagreeing);
        Assert.Equal(agrees ? null : 1, comparison.FirstDisagreeing);
    }

    [Fact]
    public void The_relative_difference_is_on_the_tolerances_scale_so_agreement_is_at_most_1e_4()
    {
        // 3e-4 at 3 is within 1e-4 + 3e-4, and 3e-4 / (1 + 3) = 7.5e-5; 1e-5 at 0 is 1e-5 / 1.
        var comparison = PeerAgreement.Compare([0f, 3f, float.NaN], [1e-5f, 3.0003f, float.NaN]);
        Assert.True(comparison.Agrees);
        Assert.Equal(0.0003, comparison.MaxAbsDiff, 6);
        Assert.Equal(0.000075, comparison.MaxRelDiff, 6);
    }

    [Fact]
    public void A_disagreeing_row_names_the_first_column_and_both_values()
    {
        var row = PeerAgreement.Check(PeerRow(), new PeerTimes([1.0], null) { Result = [1f, 2f, 9f] }, [("cpu", [1f, 2f, 3f])]);
        Assert.False(row.Agrees);
        Assert.Equal("cpu", row.CheckedAgainst);
        Assert.Equal(6.0, row.MaxAbsDiff);
        Assert.Equal("1 of 3 columns differ from cpu's beyond 1e-4 abs + 1e-4 rel (first: column 2, numpy 9, cpu 3)", row.Agreement);
    }

    [Fact]
    public void Every_engine_backend_is_checked_and_the_worst_difference_is_reported()
    {
        var row = PeerAgreement.Check(PeerRow(), new PeerTimes([1.0], null) { Result = [1f, 2f, 3f] },
            [("cpu", [1f, 2f, 3f]), ("cuda", [1f, 2.5f, 3f])]);
        Assert.False(row.Agrees);
        Assert.Equal("cpu, cuda", row.CheckedAgainst);
        Assert.Equal(0.5, row.MaxAbsDiff);
        Assert.Contains("from cuda's", row.Agreement, StringComparison.Ordinal);
    }

    [Fact]
    public void A_result_of_the_wrong_length_disagrees_and_a_missing_one_is_not_checked()
    {
        var shorter = PeerAgreement.Check(PeerRow(), new PeerTimes([1.0], null) { Result = [1f, 2f] }, [("cpu", [1f, 2f, 3f])]);
        Assert.False(shorter.Agrees);
        Assert.Equal("numpy's result has 2 values where cpu's has 3", shorter.Agreement);

        var invalid = PeerAgreement.Check(PeerRow(), new PeerTimes([1.0], null) { ResultInvalid = "numpy_peer.py's result for median has 5 bytes, not D x 4 = 12" },
            [("cpu", [1f, 2f, 3f])]);
        Assert.False(invalid.Agrees);

        var missing = PeerAgreement.Check(PeerRow(), new PeerTimes([1.0], null) { ResultSkipped = "MemoryError" }, [("cpu", [1f, 2f, 3f])]);
        Assert.Null(missing.Agrees);
        Assert.Equal("not checked: MemoryError", missing.Agreement);
        Assert.Null(missing.MaxAbsDiff);
    }

    [Fact]
    public void A_disagreement_with_no_engine_result_to_name_says_what_was_wrong_without_an_empty_list()
    {
        var invalid = PeerAgreement.Check(PeerRow(), new PeerTimes([1.0], null) { ResultInvalid = "numpy_peer.py's result for median has 5 bytes, not D x 4 = 12" }, []);

        Assert.False(invalid.Agrees);
        Assert.Null(invalid.CheckedAgainst);
        Assert.Equal("**NO**: numpy_peer.py's result for median has 5 bytes, not D x 4 = 12", BenchOutputs.AgreementText(invalid));
    }

    [Fact]
    public void A_result_file_of_the_wrong_size_is_a_disagreement_and_a_missing_file_is_not_checked()
    {
        using var folder = new Meta.Gpu.Tests.Storage.TempFolder();
        File.WriteAllBytes(Path.Combine(folder.Path, "median.f32"), new byte[5]);
        var run = new PeerRun("numpy", null, "1", null, new Dictionary<string, PeerTimes>
        {
            ["median"] = new([1.0], null),
            ["weighted_mean"] = new([1.0], null),
        });

        var read = PythonPeer.WithResults(run, "numpy_peer.py", folder.Path, 3);

        Assert.Equal("numpy_peer.py's result for median has 5 bytes, not D x 4 = 12", read.Results["median"].ResultInvalid);
        Assert.Equal("numpy_peer.py wrote no result for weighted_mean", read.Results["weighted_mean"].ResultSkipped);
    }
}
