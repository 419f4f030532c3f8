using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace OverlapEscrow.Client.Upload;

/// <summary>
/// A new file written from start to end, past the operating system's page cache where the system allows it (Linux
/// O_DIRECT): what `hash --output` writes its NDJSON through. The bytes in the file are the bytes written, whichever
/// way they get there.
/// </summary>
/// <remarks>
/// A hashed export is about 940 bytes of NDJSON per CRM row, nearly a gigabyte per million rows, and written once. Through
/// the page cache every byte is copied by the kernel into freshly allocated cache pages and written back later by the
/// kernel's own threads; on the 2-core development machine that cost about 2.4 s of system CPU per gigabyte (dd, under
/// load) against 0.3 s written directly, CPU the hashing cores then lack (docs/performance.md, "Hashing a CRM export").
/// Direct writes must start at, and be a whole number of, 4 KiB blocks from a 4 KiB-aligned buffer, so the stream fills
/// one of two aligned buffers while the other is written out on a pool thread. A block only partly filled when the
/// stream is flushed is written through the cache (O_DIRECT off for that one write) and written again, whole, by the
/// next direct write; the file's length is always the bytes written so far. Where the flag cannot be set (another
/// system, a file system without direct I/O) or the first direct write is refused, every write goes through the cache,
/// from the same buffers.
/// </remarks>
public sealed partial class UncachedFileStream : Stream
{
    /// <summary>The alignment of direct writes: file offsets, lengths and buffer addresses.</summary>
    private const int Block = 4096;

    /// <summary>The size of each of the two buffers: one is filled while the other is written.</summary>
    public const int BufferBytes = 4 << 20;

    private readonly SafeFileHandle _handle;
    private readonly byte[][] _arrays = new byte[2][];
    private readonly int[] _starts = new int[2];
    private int _current;
    private int _filled;
    private long _offset; // where the current buffer starts in the file (a multiple of Block)
    private Task _pending = Task.CompletedTask;
    private bool _wroteDirect;
    private bool _disposed;

    private UncachedFileStream(SafeFileHandle handle, bool direct)
    {
        _handle = handle;
        IsDirect = direct;
        for (var i = 0; i < 2; i++)
        {
            // On the pinned object heap: the address stays put, so an aligned window into it stays aligned.
            _arrays[i] = GC.AllocateUninitializedArray<byte>(BufferBytes + Block, pinned: true);
            var address = (long)Marshal.UnsafeAddrOfPinnedArrayElement(_arrays[i], 0);
            _starts[i] = (int)((Block - address % Block) % Block);
        }
    }

    /// <summary>Creates the file (it must not exist) and opens it for writing, past the page cache where the system allows; others may read it meanwhile.</summary>
    public static UncachedFileStream Create(string path)
    {
        var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        try
        {
            return new UncachedFileStream(handle, SetDirect(handle, true));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Whether writes bypass the page cache (false where the system or the file system refused).</summary>
    public bool IsDirect { get; private set; }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => !_disposed;
    public override long Length => throw new NotSupportedException();

    /// <summary>The number of bytes written to the stream.</summary>
    public override long Position { get => _offset + _filled; set => throw new NotSupportedException(); }

    private Span<byte> Buffer(int index) => _arrays[index].AsSpan(_starts[index], BufferBytes);

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> data)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (data.Length > 0)
        {
            var n = Math.Min(data.Length, BufferBytes - _filled);
            data[..n].CopyTo(Buffer(_current)[_filled..]);
            _filled += n;
            data = data[n..];
            if (_filled == BufferBytes)
            {
                _pending.GetAwaiter().GetResult();
                Submit();
            }
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (data.Length > 0)
        {
            var n = Math.Min(data.Length, BufferBytes - _filled);
            data.Span[..n].CopyTo(Buffer(_current)[_filled..]);
            _filled += n;
            data = data[n..];
            if (_filled == BufferBytes)
            {
                await _pending.WaitAsync(cancellationToken);
                Submit();
            }
        }
    }

    /// <summary>Starts writing the full current buffer on a pool thread and goes on in the other one (whose write has ended).</summary>
    private void Submit()
    {
        var index = _current;
        var offset = _offset;
        _pending = Task.Run(() => WriteOut(index, 0, BufferBytes, offset));
        _current ^= 1;
        _offset += BufferBytes;
        _filled = 0;
    }

    /// <summary>Writes bytes [from, from + length) of a buffer at a file offset; directly when that is on, whole blocks only.</summary>
    private void WriteOut(int index, int from, int length, long offset)
    {
        var bytes = Buffer(index).Slice(from, length);
        if (IsDirect && !_wroteDirect)
        {
            // The first direct write tells whether the file system takes them; one that refuses leaves nothing half done.
            try
            {
                RandomAccess.Write(_handle, bytes, offset);
                _wroteDirect = true;
                return;
            }
            catch (IOException)
            {
                IsDirect = false;
                SetDirect(_handle, false);
            }
        }
        RandomAccess.Write(_handle, bytes, offset);
    }

    /// <summary>Writes out everything written so far; a last partial block through the cache, kept to be written again whole.</summary>
    public override void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _pending.GetAwaiter().GetResult();
        if (_filled == 0) return;
        var whole = _filled / Block * Block;
        if (whole > 0) WriteOut(_current, 0, whole, _offset);
        var tail = _filled - whole;
        if (tail == 0)
        {
            _offset += whole;
            _filled = 0;
            return;
        }
        if (IsDirect) SetDirect(_handle, false);
        try
        {
            RandomAccess.Write(_handle, Buffer(_current).Slice(whole, tail), _offset + whole);
        }
        finally
        {
            if (IsDirect) SetDirect(_handle, true);
        }
        // The partial block moves to the start of the buffer: the next write out writes it again, from an aligned offset.
        Buffer(_current).Slice(whole, tail).CopyTo(Buffer(_current));
        _offset += whole;
        _filled = tail;
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.Run(Flush, cancellationToken);

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            try
            {
                Flush();
            }
            finally
            {
                _disposed = true;
                _handle.Dispose();
            }
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            try
            {
                await _pending;
                Flush();
            }
            finally
            {
                _disposed = true;
                _handle.Dispose();
            }
        }
        GC.SuppressFinalize(this);
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>Turns O_DIRECT on or off for the open file; false where there is no such flag or the system refuses it.</summary>
    private static bool SetDirect(SafeFileHandle handle, bool on)
    {
        if (!OperatingSystem.IsLinux()) return false;
        // O_DIRECT differs between architectures (asm-generic/fcntl.h and the arch headers); elsewhere, no direct I/O.
        int flag = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 or Architecture.X86 => 0x4000,
            Architecture.Arm64 or Architecture.Arm => 0x10000,
            _ => 0,
        };
        if (flag == 0) return false;
        var fd = (int)handle.DangerousGetHandle();
        var flags = Native.Fcntl(fd, Native.GetFlags, 0);
        if (flags < 0) return false;
        return Native.Fcntl(fd, Native.SetFlags, on ? flags | flag : flags & ~flag) == 0;
    }

    private static partial class Native
    {
        public const int GetFlags = 3; // F_GETFL
        public const int SetFlags = 4; // F_SETFL

        [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
        public static partial int Fcntl(int fd, int command, int argument);
    }
}
