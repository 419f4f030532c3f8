using System.Globalization;

namespace OverlapEscrow.Client.Hashing;

/// <summary>
/// The registrable domain of a host per the Public Suffix List algorithm (https://publicsuffix.org/list/):
/// the longest matching rule wins, an exception rule beats every other rule, and "*" applies when none matches.
/// Both the ICANN and the PRIVATE sections are used, so "acme.github.io" and "other.github.io" stay two domains.
/// The list is the copy embedded in this assembly; its date is part of the specification version.
/// </summary>
public static class PublicSuffixList
{
    private static readonly Lazy<Rules> Loaded = new(Load);

    private sealed record Rules(HashSet<string> Normal, HashSet<string> Wildcards, HashSet<string> Exceptions)
    {
        // Every rule's text with the kinds of rule it is (one text can be several: a normal rule and the base of a
        // wildcard), looked up by the host's own characters: each candidate suffix is a tail of the host, so none is
        // built, and one look-up per label answers the three questions the algorithm asks of it (three before).
        public readonly Dictionary<string, byte>.AlternateLookup<ReadOnlySpan<char>> KindsByTail = Kinds(Normal, Wildcards, Exceptions).GetAlternateLookup<ReadOnlySpan<char>>();

        private static Dictionary<string, byte> Kinds(HashSet<string> normal, HashSet<string> wildcards, HashSet<string> exceptions)
        {
            var kinds = new Dictionary<string, byte>(StringComparer.Ordinal);
            foreach (var rule in normal) kinds[rule] = (byte)(kinds.GetValueOrDefault(rule) | NormalRule);
            foreach (var rule in wildcards) kinds[rule] = (byte)(kinds.GetValueOrDefault(rule) | WildcardBase);
            foreach (var rule in exceptions) kinds[rule] = (byte)(kinds.GetValueOrDefault(rule) | ExceptionRule);
            return kinds;
        }
    }

    private const byte NormalRule = 1, WildcardBase = 2, ExceptionRule = 4;

    /// <summary>The registrable domain (public suffix plus one label) of a lower-case A-label host, or null when the host is itself a public suffix.</summary>
    public static string? RegistrableDomain(string host)
    {
        var rules = Loaded.Value;
        // starts[i]: where the i-th label begins; the candidate of labels i.. is host[starts[i]..].
        var count = 1;
        foreach (var c in host) if (c == '.') count++;
        Span<int> starts = count <= 64 ? stackalloc int[count] : new int[count];
        for (int i = 0, k = 1; i < host.Length; i++)
            if (host[i] == '.') starts[k++] = i + 1;
        // What each candidate is (one look-up each), then the algorithm over those answers, in its own order.
        Span<byte> kinds = count <= 64 ? stackalloc byte[count] : new byte[count];
        for (var i = 0; i < count; i++) kinds[i] = rules.KindsByTail.TryGetValue(host.AsSpan(starts[i]), out var kind) ? kind : (byte)0;
        var suffixLength = 1;
        for (var i = 0; i < count; i++)
        {
            if ((kinds[i] & ExceptionRule) != 0)
                return count - i - 1 < 1 ? null : host[starts[i]..]; // an exception rule wins outright
            if ((kinds[i] & NormalRule) != 0) suffixLength = Math.Max(suffixLength, count - i);
            else if (i + 1 < count && (kinds[i + 1] & WildcardBase) != 0)
                suffixLength = Math.Max(suffixLength, count - i);
        }
        return count <= suffixLength ? null : host[starts[count - suffixLength - 1]..];
    }

    private static Rules Load()
    {
        var idn = new IdnMapping { UseStd3AsciiRules = false, AllowUnassigned = true };
        var normal = new HashSet<string>(StringComparer.Ordinal);
        var wildcards = new HashSet<string>(StringComparer.Ordinal);
        var exceptions = new HashSet<string>(StringComparer.Ordinal);
        foreach (var raw in SpecData.Lines("public_suffix_list.dat"))
        {
            if (raw.StartsWith("//", StringComparison.Ordinal)) continue;
            var rule = raw.Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries)[0].ToLowerInvariant();
            if (rule.StartsWith('!')) exceptions.Add(Ascii(idn, rule[1..]));
            else if (rule.StartsWith("*.", StringComparison.Ordinal)) wildcards.Add(Ascii(idn, rule[2..]));
            else normal.Add(Ascii(idn, rule));
        }
        return new Rules(normal, wildcards, exceptions);
    }

    private static string Ascii(IdnMapping idn, string rule) =>
        string.Join('.', rule.Split('.').Select(label => label.All(char.IsAscii) ? label : idn.GetAscii(label)));
}
