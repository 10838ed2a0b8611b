namespace Meta.Gpu.Learning.Aggregation;

/// <summary>How a column's present values are combined (DESIGN §4 step 6). Wire names in snake_case.</summary>
public enum AggregationMethod
{
    Mean,
    TrimmedMean,
    Median,
    WeightedMedian,
}

/// <summary>Where a domain's weight comes from (DESIGN §4 step 4).</summary>
public enum DomainWeighting
{
    Confidence,
    Uniform,
}

/// <summary>What a cell that a domain did not send means (DESIGN §4 step 2).</summary>
public enum MissingKeys
{
    /// <summary>Absent: takes no part in its column.</summary>
    Ignore,

    /// <summary>Present with value 0 everywhere (the reference's behaviour).</summary>
    Zero,
}

/// <summary>The snake_case wire names of the aggregation enums.</summary>
public static class AggregationNames
{
    public static string Of(AggregationMethod method) => method switch
    {
        AggregationMethod.Mean => "mean",
        AggregationMethod.TrimmedMean => "trimmed_mean",
        AggregationMethod.Median => "median",
        AggregationMethod.WeightedMedian => "weighted_median",
        _ => throw new ArgumentOutOfRangeException(nameof(method)),
    };

    public static AggregationMethod ParseMethod(string text, string path) => text switch
    {
        "mean" => AggregationMethod.Mean,
        "trimmed_mean" => AggregationMethod.TrimmedMean,
        "median" => AggregationMethod.Median,
        "weighted_median" => AggregationMethod.WeightedMedian,
        _ => throw new InvalidInputException($"{path}: unknown method \"{text}\" (mean, trimmed_mean, median, weighted_median)"),
    };

    public static string Of(DomainWeighting weighting) => weighting == DomainWeighting.Uniform ? "uniform" : "confidence";

    public static DomainWeighting ParseWeighting(string text, string path) => text switch
    {
        "confidence" => DomainWeighting.Confidence,
        "uniform" => DomainWeighting.Uniform,
        _ => throw new InvalidInputException($"{path}: unknown weighting \"{text}\" (confidence, uniform)"),
    };

    public static string Of(MissingKeys missing) => missing == MissingKeys.Zero ? "zero" : "ignore";

    public static MissingKeys ParseMissingKeys(string text, string path) => text switch
    {
        "ignore" => MissingKeys.Ignore,
        "zero" => MissingKeys.Zero,
        _ => throw new InvalidInputException($"{path}: unknown missing_keys \"{text}\" (ignore, zero)"),
    };
}
