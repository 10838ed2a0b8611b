using System.Globalization;

namespace Meta.Gpu.Tests.Support;

/// <summary>
/// A culture that writes numbers as de-DE and sv-SE do: a decimal comma, '.' between digit groups, the minus sign
/// U+2212 (sv-SE, fa-IR) and "∞" for infinity. The tests run in globalization-invariant mode, where no named culture
/// exists, so it is the invariant culture with those symbols changed. The library runs inside users' applications
/// under their culture: what it writes for a program or a person to read must not change with it.
/// </summary>
internal static class ForeignCulture
{
    public static CultureInfo Comma { get; } = Make();

    private static CultureInfo Make()
    {
        var culture = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        culture.NumberFormat.NumberDecimalSeparator = ",";
        culture.NumberFormat.NumberGroupSeparator = ".";
        culture.NumberFormat.NegativeSign = "\u2212";
        culture.NumberFormat.PositiveInfinitySymbol = "∞";
        culture.NumberFormat.NegativeInfinitySymbol = "\u2212∞";
        return culture;
    }

    /// <summary>Runs <paramref name="action"/> with <see cref="Comma"/> as the current (UI) culture of this thread,
    /// restoring the previous ones after; other tests' threads keep theirs.</summary>
    public static T Under<T>(Func<T> action)
    {
        var (culture, ui) = (CultureInfo.CurrentCulture, CultureInfo.CurrentUICulture);
        CultureInfo.CurrentCulture = Comma;
        CultureInfo.CurrentUICulture = Comma;
        try
        {
            return action();
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
            CultureInfo.CurrentUICulture = ui;
        }
    }

    /// <summary>The message of the exception <paramref name="action"/> throws under <see cref="Comma"/>.</summary>
    public static string MessageOf(Action action) => Under(() => Assert.ThrowsAny<Exception>(action).Message);

    /// <summary>The message of the exception the task of <paramref name="action"/> ends with under <see cref="Comma"/>
    /// (the culture flows into its continuations).</summary>
    public static async Task<string> MessageOfAsync(Func<Task> action)
    {
        var (culture, ui) = (CultureInfo.CurrentCulture, CultureInfo.CurrentUICulture);
        CultureInfo.CurrentCulture = Comma;
        CultureInfo.CurrentUICulture = Comma;
        try
        {
            return (await Assert.ThrowsAnyAsync<Exception>(action)).Message;
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
            CultureInfo.CurrentUICulture = ui;
        }
    }
}
