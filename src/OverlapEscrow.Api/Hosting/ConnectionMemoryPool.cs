using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Connections;

namespace OverlapEscrow.Api.Hosting;

/// <summary>
/// Kestrel's connection buffers in blocks of <see cref="BlockBytes"/> instead of the framework's 4 KiB. The socket
/// transport receives into one block of its pool at a time (after waiting for data with a zero-byte receive), so a
/// large request body arrives in as many pairs of <c>recvfrom</c> as it has blocks: a 245 MB upload took about 125,600
/// system calls with 4 KiB blocks (docs/performance.md, "Uploads"). The pipes take whatever block the pool gives
/// (they ask for at least 4 KiB and use the whole block). Blocks are pinned (the socket writes into them) and are rented
/// only once data has arrived, so an idle keep-alive connection holds none. <see cref="Setting"/> (KiB, 4 to 1,024) sets
/// the size; 0 keeps the framework's own pool of 4 KiB blocks.
/// </summary>
public sealed class ConnectionMemoryPoolFactory : IMemoryPoolFactory<byte>
{
    public const string Setting = "Escrow:Server:ReceiveBlockKiB";
    public const int DefaultBlockKiB = 64;

    public ConnectionMemoryPoolFactory(int blockKiB)
    {
        if (blockKiB is < 4 or > 1024)
            throw new InvalidOperationException($"{Setting} is 0 (the framework's 4 KiB blocks) or 4 to 1024 KiB, not {blockKiB}.");
        BlockBytes = blockKiB * 1024;
    }

    public int BlockBytes { get; }

    public MemoryPool<byte> Create(MemoryPoolOptions? options = null) => new ConnectionMemoryPool(BlockBytes);
}

/// <summary>
/// A pool of pinned blocks of one size. It keeps at most <see cref="RetainedBytes"/> of free blocks; a block returned
/// beyond that is left to the collector, so what a burst of connections rented is not held for the process's life
/// (the framework's own pool evicts idle blocks on a timer instead).
/// </summary>
public sealed class ConnectionMemoryPool(int blockBytes) : MemoryPool<byte>
{
    public const int RetainedBytes = 4 << 20;

    private readonly ConcurrentQueue<Block> _free = new();
    private readonly int _retainedBlocks = Math.Max(1, RetainedBytes / blockBytes);
    private int _freeCount;
    private volatile bool _disposed;

    public override int MaxBufferSize => blockBytes;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize > blockBytes) throw new ArgumentOutOfRangeException(nameof(minBufferSize), minBufferSize, $"At most {blockBytes} bytes.");
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_free.TryDequeue(out var block))
        {
            Interlocked.Decrement(ref _freeCount);
            return block;
        }
        return new Block(this, GC.AllocateUninitializedArray<byte>(blockBytes, pinned: true));
    }

    private void Return(Block block)
    {
        if (_disposed) return;
        if (Interlocked.Increment(ref _freeCount) > _retainedBlocks)
        {
            Interlocked.Decrement(ref _freeCount);
            return;
        }
        _free.Enqueue(block);
    }

    protected override void Dispose(bool disposing)
    {
        _disposed = true;
        _free.Clear();
    }

    private sealed class Block(ConnectionMemoryPool pool, byte[] pinned) : IMemoryOwner<byte>
    {
        public Memory<byte> Memory { get; } = MemoryMarshal.CreateFromPinnedArray(pinned, 0, pinned.Length);

        public void Dispose() => pool.Return(this);
    }
}
