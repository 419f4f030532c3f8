using OverlapEscrow.Domain.Records;

namespace OverlapEscrow.Application.Uploads;

/// <summary>A row error as reported to the uploader: where (row, and field when known) and what is wrong.</summary>
/// <remarks>Messages describe the problem, never quote the value: a row may hold data the uploader did not mean to send.</remarks>
public sealed record RowError(long Row, string? Field, string Message);

/// <summary>One row of an upload as parsed, before re-keying; <see cref="Error"/> set when it cannot be used.</summary>
public sealed class ParsedRecord
{
    public long Row { get; init; }
    public string? RecordId { get; set; }
    public bool Delete { get; set; }
    public List<(IdentifierType Type, byte[] Hash)> Hashes { get; } = [];
    public List<RecordAttribute> Attributes { get; } = [];
    public RowError? Error { get; private set; }

    public void Fail(string? field, string message) => Error ??= new RowError(Row, field, message);
}

/// <summary>The upload failed as a whole (too large, unreadable); nothing was applied.</summary>
public sealed class UploadRejectedException(int statusCode, string title, string detail, RowError? row = null) : Exception(detail)
{
    public int StatusCode { get; } = statusCode;
    public string Title { get; } = title;
    public RowError? RowError { get; } = row;
}

/// <summary>Reads upload rows from a body stream, one format each (NDJSON, CSV).</summary>
public interface IUploadParser
{
    IAsyncEnumerable<ParsedRecord> ReadAsync(Stream body, CancellationToken ct);
}
