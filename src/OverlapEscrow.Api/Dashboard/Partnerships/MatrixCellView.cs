using OverlapEscrow.Application.Overlaps;

namespace OverlapEscrow.Api.Dashboard.Partnerships;

/// <summary>A released matrix cell with what its links and labels need.</summary>
public sealed record MatrixCellView(string PartnershipId, string MyName, string TheirName, MatrixCell Cell);
