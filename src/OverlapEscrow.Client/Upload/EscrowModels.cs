using System.Text.Json.Serialization;

namespace OverlapEscrow.Client.Upload;

// The escrow's JSON responses as the client reads them (docs/api.md). Unknown properties are ignored, so a newer
// server that adds fields does not break an older client.

public enum UploadMode
{
    /// <summary>PUT: the population becomes exactly the uploaded records.</summary>
    Snapshot,

    /// <summary>POST: the uploaded records are upserted by record id.</summary>
    Delta,
}

public sealed record Population(string Id, string Name, string Type, long RecordCount, string? CurrentVersionId = null,
    DateTimeOffset? CreatedAt = null, DateTimeOffset? UpdatedAt = null);

public sealed record RowError(long Row, string? Field, string Message);

public sealed record UploadResult(
    string PopulationId,
    string VersionId,
    string Mode,
    long RowsRead,
    long RecordsApplied,
    long RowsRejected,
    long? RecordCount,
    DateTimeOffset? CommittedAt = null,
    IReadOnlyList<RowError>? Errors = null)
{
    /// <summary>True when the escrow answered from an earlier completed upload with the same Idempotency-Key.</summary>
    [JsonIgnore]
    public bool Replayed { get; init; }
}

public sealed record OrganizationRef(string Id, string Slug, string Name);

public sealed record Partnership(string Id, string Status, string Role, OrganizationRef Partner, DateTimeOffset? CreatedAt = null,
    DateTimeOffset? RespondedAt = null, DateTimeOffset? TerminatedAt = null);

public sealed record MatrixPopulation(string Id, string Name, string Type, long? RecordCount = null);

public sealed record MatrixCell(string MyPopulationId, string PartnerPopulationId, string Level, long? Count = null, int? MinimumCount = null);

public sealed record OverlapMatrix(
    string PartnershipId,
    OrganizationRef Partner,
    DateTimeOffset? ComputedAt,
    IReadOnlyList<MatrixPopulation> MyPopulations,
    IReadOnlyList<MatrixPopulation> PartnerPopulations,
    IReadOnlyList<MatrixCell> Cells)
{
    /// <summary>The cell of a pair, or null when the pair is hidden from me.</summary>
    public MatrixCell? Cell(string myPopulationId, string partnerPopulationId) =>
        Cells.FirstOrDefault(c => c.MyPopulationId == myPopulationId && c.PartnerPopulationId == partnerPopulationId);
}

public sealed record OverlapMatch(IReadOnlyList<string> MatchedOn, IReadOnlyDictionary<string, string>? Fields = null);

public sealed record OverlapItem(string RecordId, IReadOnlyDictionary<string, string>? Attributes, IReadOnlyList<OverlapMatch> Matches,
    bool MatchesTruncated = false);

public sealed record OverlapListPage(
    string PartnershipId,
    string MyPopulationId,
    string PartnerPopulationId,
    string Level,
    IReadOnlyList<string>? Fields,
    long TotalCount,
    IReadOnlyList<OverlapItem> Items,
    string? NextCursor = null);
