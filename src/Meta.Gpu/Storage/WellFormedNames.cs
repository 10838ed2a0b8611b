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

    public static void Require(SavedLearnerState learners)
    {
        Require(learners.Domains.Keys, "learners.domains");
        foreach (var (domain, learner) in learners.Domains) Require(learner.PreviousParams.Keys, $"learners.domains.{domain}.previous_params");
        if (learners.Pending is null) return;
        Require(learners.Pending.Keys, "learners.pending");
        foreach (var (domain, pack) in learners.Pending) Require(pack.Keys, $"learners.pending.{domain}.keys");
    }
}
