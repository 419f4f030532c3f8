using System.Text;

namespace OverlapEscrow.Client.Hashing;

/// <summary>
/// Whether this process can normalize as the hashing specification requires. .NET in globalization-invariant mode (no
/// ICU: <c>DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1</c>, as Alpine and chiseled images are often run) leaves Unicode text
/// undecomposed, so every non-ASCII name and domain would get other keys than the specification's — silently, and no
/// partner's would match them (a trial measured 275 of 1,433 tricky rows different). Hashing refuses to start instead.
/// </summary>
public static class UnicodeSupport
{
    /// <summary>Refuses (with a message that says what to install) when Unicode normalization is not available.</summary>
    /// <exception cref="UnicodeSupportException">This process runs without ICU.</exception>
    public static void EnsureAvailable()
    {
        if (!Available)
            throw new UnicodeSupportException(
                "this .NET runs without ICU (globalization-invariant mode), under which names and domains with non-ASCII letters get other " +
                "keys than the hashing specification's; install ICU (libicu, icu-libs on Alpine) and leave DOTNET_SYSTEM_GLOBALIZATION_INVARIANT unset.");
    }

    /// <summary>ü decomposes into u and its diaeresis (NFD), which every key of a name with accents relies on.</summary>
    public static bool Available { get; } = "\u00FC".Normalize(NormalizationForm.FormD).Length == 2;
}

/// <summary>This process cannot normalize Unicode as the hashing specification requires (no ICU); the message says what to install.</summary>
public sealed class UnicodeSupportException(string message) : Exception(message);
