using System.Collections.Concurrent;

namespace OverlapEscrow.Application.Uploads;

/// <summary>
/// Byte buffers of one size that one upload hands between its threads (a chunk of the body from the reading thread to the
/// thread that parses it; a batch's encoded records from a re-keying thread to the ordered stage), kept for reuse while the
/// upload lasts. The shared <see cref="System.Buffers.ArrayPool{T}"/> keeps few arrays this large per thread and core, and
/// buffers rented on one thread and returned on another mostly fell out of it: each was a fresh large-object array,
/// about 250 MB of them per million records, left for a full collection (docs/performance.md, "Uploads"). The buffers in
/// flight are bounded by the upload's channel, so a few are enough. Every buffer is cleared when given back: a body
/// chunk holds identifier hashes as received, which are dictionary-reversible.
/// </summary>
public sealed class UploadBuffers(int size, int keep = 16)
{
    private readonly ConcurrentQueue<byte[]> _free = new();

    public int Size => size;

    /// <summary>A cleared buffer of at least <paramref name="atLeast"/> bytes (of <see cref="Size"/> when that is enough).</summary>
    public byte[] Rent(int atLeast) =>
        atLeast <= size && _free.TryDequeue(out var buffer) ? buffer : new byte[Math.Max(size, atLeast)];

    public void Return(byte[] buffer)
    {
        Array.Clear(buffer);
        if (buffer.Length == size && _free.Count < keep) _free.Enqueue(buffer);
    }
}
