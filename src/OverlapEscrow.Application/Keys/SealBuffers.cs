using OverlapEscrow.Application.Overlaps;

namespace OverlapEscrow.Application.Keys;

/// <summary>
/// The buffers a writer of version parts seals them into (an upload's column parts; a delta's, built on its first load:
/// <see cref="VersionStore"/>), given back once the parts are stored: the parts in flight are a few MiB (what is buffered for one short transaction, the store stage's queue and the finish's channel),
/// so a few buffers serve a whole upload. A large part (a token column's chunk, 2.4 MB) gets a pooled buffer of its own;
/// a fresh ciphertext array per chunk was a large-object array each, about 70 MB of them per million records, left for
/// a full collection. A small part (a record block, about 10 KB) gets a slice of a shared 1 MiB slab
/// (<see cref="TakeSlice"/>), which goes back to the pool once every part cut from it is stored: an array per block was
/// about 60 MB per million records of arrays that lived while their flush waited for the store stage, long enough to be
/// promoted by a gen0 collection and then kept as dead gen1 space until the upload's end (docs/performance.md,
/// "Uploads"). Sealing (the ordered stage, or a worker core at the finish) and storing (the store stage) hand buffers
/// across threads, hence the lock. They hold ciphertext only, so they are not cleared.
/// </summary>
internal sealed class SealBuffers
{
    private const int Keep = 16;
    internal const int Pooled = 64 * 1024;
    internal const int SlabBytes = 1 << 20;
    private readonly List<byte[]> _free = [];
    private readonly Stack<byte[]> _freeSlabs = new();
    private readonly Dictionary<byte[], Slab> _slabs = new(ReferenceEqualityComparer.Instance);
    // Every slab this pool made, out or free: a slice given back after its slab was released is a bug to stop at, not
    // an array to pool (it would then be handed out both as a slab and as a buffer).
    private readonly HashSet<byte[]> _made = new(ReferenceEqualityComparer.Instance);
    private Slab? _slab;

    private sealed class Slab(byte[] bytes)
    {
        public readonly byte[] Bytes = bytes;
        public int Used;
        public int Out;
    }

    public byte[] Rent(int atLeast)
    {
        if (atLeast < Pooled) return new byte[atLeast];
        lock (_free)
        {
            for (var i = 0; i < _free.Count; i++)
                if (_free[i].Length >= atLeast)
                {
                    var buffer = _free[i];
                    _free.RemoveAt(i);
                    return buffer;
                }
        }
        return new byte[atLeast + atLeast / 8];
    }

    /// <summary>
    /// <paramref name="length"/> bytes (less than <see cref="Pooled"/>) of the current slab, never handed out again until
    /// given back (<see cref="Return"/>); a full slab returns to the pool when the last of its slices is given back.
    /// </summary>
    public Memory<byte> TakeSlice(int length)
    {
        if (length >= Pooled) throw new ArgumentOutOfRangeException(nameof(length), "A slice is for a small part.");
        lock (_free)
        {
            if (_slab is null || _slab.Used + length > _slab.Bytes.Length)
            {
                var full = _slab;
                if (!_freeSlabs.TryPop(out var bytes)) _made.Add(bytes = new byte[SlabBytes]);
                _slab = new Slab(bytes);
                _slabs[_slab.Bytes] = _slab;
                if (full is { Out: 0 }) Release(full);
            }
            var slice = _slab.Bytes.AsMemory(_slab.Used, length);
            _slab.Used += length;
            _slab.Out++;
            return slice;
        }
    }

    /// <summary>
    /// A part of a version sealed as <see cref="VersionStore.Seal"/> seals it (the same label and id), into this pool: a
    /// large part into a pooled buffer of its own, a small one (a record block) sealed into <paramref name="scratch"/> (the
    /// caller's, grown as needed: one thread at a time) and copied into a slice of the shared slab. Give the ciphertext back
    /// (<see cref="Return"/>) once the part is stored.
    /// </summary>
    public SealedMemory SealPart(IOrganizationCipher cipher, string versionId, long part, ReadOnlySpan<byte> plaintext, ref byte[] scratch)
    {
        var length = plaintext.Length + IOrganizationCipher.Overhead;
        var id = VersionStore.SealId(versionId, part);
        if (length >= Pooled) return cipher.Seal(VersionStore.SealLabel, id, plaintext, Rent(length));
        if (scratch.Length < length) scratch = new byte[Math.Max(length, Pooled)];
        var sealedPart = cipher.Seal(VersionStore.SealLabel, id, plaintext, scratch);
        var slice = TakeSlice(length);
        sealedPart.Ciphertext.CopyTo(slice);
        return sealedPart with { Ciphertext = slice };
    }

    public void Return(ReadOnlyMemory<byte> used)
    {
        if (!System.Runtime.InteropServices.MemoryMarshal.TryGetArray(used, out var segment) || segment.Array is not { } array) return;
        lock (_free)
        {
            if (_slabs.TryGetValue(array, out var slab))
            {
                if (slab.Out == 0) throw GivenBackTwice();
                if (--slab.Out == 0 && slab != _slab) Release(slab);
            }
            else if (_made.Contains(array)) throw GivenBackTwice();
            else if (array.Length >= Pooled && _free.Count < Keep) _free.Add(array);
        }
    }

    private static InvalidOperationException GivenBackTwice() => new("A slice of a sealing slab was given back twice.");

    private void Release(Slab slab)
    {
        _slabs.Remove(slab.Bytes);
        if (_freeSlabs.Count < Keep) _freeSlabs.Push(slab.Bytes);
        else _made.Remove(slab.Bytes);
    }
}
