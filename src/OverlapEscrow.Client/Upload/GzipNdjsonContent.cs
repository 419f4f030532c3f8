using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;

namespace OverlapEscrow.Client.Upload;

/// <summary>
/// A request body written on demand into a gzip stream (one gzip member, as the escrow requires), sent with
/// chunked transfer encoding, so an upload of any size never sits in memory or on disk compressed.
/// </summary>
/// <remarks>
/// An instance is sent once; a retry builds a new one, which calls the body writer again. When the writer
/// fails (a malformed row in the CRM export), the failure is kept in <see cref="WriterFailure"/> so the caller can
/// tell it apart from a broken connection: the first is not worth a retry, the second is.
/// </remarks>
internal sealed class GzipNdjsonContent : HttpContent
{
    private readonly Func<Stream, CancellationToken, Task> _writeBody;

    public GzipNdjsonContent(Func<Stream, CancellationToken, Task> writeBody)
    {
        _writeBody = writeBody;
        Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        Headers.ContentEncoding.Add("gzip");
    }

    /// <summary>The exception of the body writer itself (not of the connection), if it failed.</summary>
    public Exception? WriterFailure { get; private set; }

    /// <summary>
    /// Called when the body writer fails. A failing body does not end every request by itself (an in-process test
    /// server keeps waiting for the rest of it), so the sender cancels the request from here.
    /// </summary>
    public Action? OnWriterFailure { get; set; }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        var transport = new TransportStream(stream);
        // Fastest: identifier hashes are random hex and compress about as well either way; CPU is the limit.
        var gzip = new GZipStream(transport, CompressionLevel.Fastest, leaveOpen: true);
        try
        {
            await _writeBody(gzip, cancellationToken);
        }
        catch (Exception e)
        {
            if (!transport.Failed)
            {
                WriterFailure = e;
                OnWriterFailure?.Invoke();
            }
            // Never finish the gzip member of a body cut short: its trailer would make the partial body look
            // complete. The request is aborted instead, and the escrow applies nothing.
            transport.Abandon();
            await gzip.DisposeAsync();
            throw;
        }
        await gzip.DisposeAsync();
        // A stream compressed from no bytes at all is no bytes at all here, which is no gzip member: an upload with nothing
        // to send (a delta without changes) was refused as a truncated body. It is sent as the empty member instead.
        if (transport.Written == 0) await transport.WriteAsync(EmptyMember, cancellationToken);
    }

    /// <summary>
    /// The gzip member of no data (RFC 1952 §2.3: ID1 ID2, CM = 8, no flags, MTIME 0, XFL 0, OS 255; the deflate data is one
    /// final fixed-Huffman block holding only its end code, RFC 1951 §3.2.6; CRC-32 0 and ISIZE 0), as gzip -n writes it.
    /// </summary>
    private static readonly byte[] EmptyMember = [0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00];

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }

    /// <summary>Passes writes to the connection and remembers whether the connection failed.</summary>
    private sealed class TransportStream(Stream inner) : Stream
    {
        private bool _abandoned;

        public bool Failed { get; private set; }

        /// <summary>Bytes passed on so far.</summary>
        public long Written { get; private set; }

        /// <summary>Drops every later write.</summary>
        public void Abandon() => _abandoned = true;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (_abandoned) return;
            Written += buffer.Length;
            try { inner.Write(buffer); }
            catch { Failed = true; throw; }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_abandoned) return;
            Written += buffer.Length;
            try { await inner.WriteAsync(buffer, cancellationToken); }
            catch { Failed = true; throw; }
        }

        public override void Flush()
        {
            if (_abandoned) return;
            try { inner.Flush(); }
            catch { Failed = true; throw; }
        }

        public override async Task FlushAsync(CancellationToken cancellationToken)
        {
            if (_abandoned) return;
            try { await inner.FlushAsync(cancellationToken); }
            catch { Failed = true; throw; }
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
