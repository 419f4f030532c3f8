namespace OverlapEscrow.Client.Hashing;

/// <summary>A normalized identifier, or why the input yields none (empty, placeholder, free-mail provider …).</summary>
public readonly record struct KeyResult(string? Key, string? Reason)
{
    public static KeyResult Of(string key) => new(key, null);
    public static KeyResult None(string reason) => new(null, reason);
    public bool HasKey => Key is not null;
}
