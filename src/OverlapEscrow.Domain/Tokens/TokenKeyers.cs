namespace OverlapEscrow.Domain.Tokens;

/// <summary>
/// One <see cref="TokenKeyer"/> per token key in use. Usually one; during a token-key change two, so that each uploaded
/// hash gives a token under the old key and one under the new key, and a version matches partners keyed under either.
/// A token under one key never equals the token of the same hash under another (HMAC with independent keys), so
/// carrying both adds no false match. Not thread-safe (see <see cref="TokenKeyer"/>).
/// </summary>
public sealed class TokenKeyers : IDisposable
{
    private readonly TokenKeyer[] _keyers;

    public TokenKeyers(IEnumerable<byte[]> tokenKeys)
    {
        _keyers = tokenKeys.Select(k => new TokenKeyer(k)).ToArray();
        if (_keyers.Length == 0) throw new ArgumentException("At least one token key is needed.", nameof(tokenKeys));
    }

    public int Count => _keyers.Length;

    public TokenKeyer this[int index] => _keyers[index];

    public void Dispose()
    {
        foreach (var keyer in _keyers) keyer.Dispose();
    }
}
