namespace Meta.Gpu.Storage;

/// <summary>A domain's last observed dense score (DESIGN §7's last_score for the dense lane).</summary>
/// <param name="Sequence">The sequence of the update that brought it.</param>
/// <param name="Score">The score.</param>
/// <param name="Before">The domain's score before it (a redelivered copy of that update is judged against it).</param>
public sealed record SavedDenseScore(long Sequence, double Score, double Before);
