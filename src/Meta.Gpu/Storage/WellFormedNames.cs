using System.Text;

namespace Meta.Gpu.Storage;

/// <summary>
/// Names (prior keys, domain ids) checked before a save writes them. The JSON writer writes a lone surrogate as
/// U+FFFD: a name silently became another, and two that differ only there became one property given twice, which
/// every load refuses, so the save returned and was lost.
/// </summary>
internal static class WellFormedNames
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <exception cref="InvalidInputException">A name is not well-formed Unicode; nothing was saved.</exception>
    public static void Require(IEnumerable<string> names, string path)
    {
        foreach (var name in names)
        {
            try
            {
                Strict.GetByteCount(name);
            }
            catch (EncoderFallbackException)
            {
                throw new InvalidInputException($"{path}: a name (\"{name}\") is not well-formed Unicode (a lone surrogate); nothing was saved");
            }
        }
    }

    /// <summary>Also refuses a null part (a state built in code may hold one; a load never gives one): a
    /// NullReferenceException escaped the save.</summary>
    /// <exception cref="InvalidInputException">A name is not well-formed, or a part is null; nothing was saved.</exception>
    public static void Require(SavedLearnerState learners)
    {
        NotNull(learners.Domains, "learners.domains");
        NotNull(learners.Optimizer, "learners.optimizer");
        Require(learners.Domains.Keys, "learners.domains");
        foreach (var (domain, learner) in learners.Domains)
        {
            NotNull(learner, $"learners.domains.{domain}");
            NotNull(learner.History, $"learners.domains.{domain}.history");
            NotNull(learner.PreviousParams, $"learners.domains.{domain}.previous_params");
            Require(learner.PreviousParams.Keys, $"learners.domains.{domain}.previous_params");
        }
        if (learners.Pending is null) return;
        Require(learners.Pending.Keys, "learners.pending");
        foreach (var (domain, pack) in learners.Pending)
        {
            NotNull(pack, $"learners.pending.{domain}");
            NotNull(pack.Keys, $"learners.pending.{domain}.keys");
            NotNull(pack.Vector, $"learners.pending.{domain}.vector");
            for (var i = 0; i < pack.Keys.Count; i++) NotNull(pack.Keys[i], $"learners.pending.{domain}.keys[{i}]");
            Require(pack.Keys, $"learners.pending.{domain}.keys");
        }
    }

    /// <summary>As <see cref="Require(SavedLearnerState)"/>, for the dense lane's state.</summary>
    public static void Require(SavedDenseLaneState state)
    {
        NotNull(state.Optimizer, "dense_lane_state.optimizer");
        NotNull(state.LastScores, "dense_lane_state.last_scores");
        Require(state.LastScores.Keys, "dense_lane_state.last_scores");
        foreach (var (domain, score) in state.LastScores) NotNull(score, $"dense_lane_state.last_scores.{domain}");
    }

    private static void NotNull(object? value, string path)
    {
        if (value is null) throw new InvalidInputException($"{path}: missing (null); nothing was saved");
    }
}
