using System.Buffers;
using System.Security.Cryptography;

namespace OverlapEscrow.Application.Keys;

/// <summary>
/// One pooled buffer that sealed parts are opened into, one after another (a version's column chunks, its record blocks):
/// no array per part (a column chunk is over a megabyte, so each would be a large-object allocation). Grown when a part
/// is larger; zeroed whenever it goes back to the pool, since what it held is an organization's data.
/// </summary>
/// <param name="initialBytes">What is rented first.</param>
/// <param name="pool">The pool rented from (the shared one unless a test watches its own).</param>
public sealed class PlaintextBuffer(int initialBytes = 1 << 16, ArrayPool<byte>? pool = null) : IDisposable
{
    private readonly ArrayPool<byte> _pool = pool ?? ArrayPool<byte>.Shared;
    private byte[] _buffer = (pool ?? ArrayPool<byte>.Shared).Rent(initialBytes);

    /// <summary>The buffer, at least <paramref name="bytes"/> long (a part's ciphertext length bounds its plaintext); what it held before is gone.</summary>
    public byte[] AtLeast(int bytes)
    {
        if (bytes > _buffer.Length)
        {
            Release();
            _buffer = _pool.Rent(bytes);
        }
        return _buffer;
    }

    /// <summary>Opens a sealed part into the buffer; the span is valid until the next call.</summary>
    public ReadOnlySpan<byte> Open(IOrganizationCipher keys, string label, string id, SealedValue sealedValue)
    {
        var buffer = AtLeast(sealedValue.Ciphertext.Length);
        return buffer.AsSpan(0, keys.Open(label, id, sealedValue, buffer));
    }

    public void Dispose()
    {
        Release();
        _buffer = [];
    }

    private void Release()
    {
        if (_buffer.Length == 0) return;
        CryptographicOperations.ZeroMemory(_buffer); // partner data: not left in a buffer others rent
        _pool.Return(_buffer);
    }
}
