using Dapper;

namespace OverlapEscrow.Api.Tests.Infrastructure;

/// <summary>A stored segment or column part as its row holds it (Seq is the part number for a column part).</summary>
internal sealed class StoredRow
{
    public long Seq { get; init; }
    public byte[] Nonce { get; init; } = [];
    public byte[] Data { get; init; } = [];
    public long KeyVersion { get; init; }
    public long RecordCount { get; init; }
}

/// <summary>What a version has at rest, read straight from its tables: its segments and its column parts, in order.</summary>
internal static class StoredParts
{
    public static async Task<(List<StoredRow> Segments, List<StoredRow> Parts)> ReadAsync(EscrowApp app, string versionId)
    {
        using var db = app.OpenAnyDatabase();
        var segments = (await db.QueryAsync<StoredRow>(
            "SELECT seq AS Seq, nonce AS Nonce, data AS Data, key_version AS KeyVersion, record_count AS RecordCount FROM segments WHERE version_id = @versionId ORDER BY seq",
            new { versionId })).AsList();
        var parts = (await db.QueryAsync<StoredRow>(
            "SELECT part AS Seq, nonce AS Nonce, data AS Data, key_version AS KeyVersion FROM version_columns WHERE version_id = @versionId ORDER BY part",
            new { versionId })).AsList();
        return (segments, parts);
    }
}
