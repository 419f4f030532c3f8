using System.ComponentModel.DataAnnotations;

namespace OverlapEscrow.Application.Uploads;

/// <summary>Settings under Escrow:Uploads (environment: Escrow__Uploads__Name): limits and policies of the upload path.</summary>
public sealed class UploadOptions
{
    /// <summary>
    /// Uploads one instance runs at once (API, dashboard and scheduled pulls alike); one more is refused with 429 and
    /// Retry-After before its body is read. Each upload of a million records holds about 250 MiB at its peak.
    /// </summary>
    [Range(1, 256)]
    public int MaxConcurrent { get; set; } = 4;

    /// <summary>Of those, the most one organization's uploads may hold, so one organization cannot take them all.</summary>
    [Range(1, 256)]
    public int MaxConcurrentPerOrganization { get; set; } = 2;

    /// <summary>The Retry-After of an upload refused because too many were running.</summary>
    [Range(1, 3600)]
    public int BusyRetryAfterSeconds { get; set; } = 10;

    /// <summary>Largest request body accepted, as sent (compressed or not).</summary>
    [Range(1024, long.MaxValue)]
    public long MaxBodyBytes { get; set; } = 2L * 1024 * 1024 * 1024;

    /// <summary>Largest body after gzip decompression (a small gzip body can inflate enormously).</summary>
    [Range(1024, long.MaxValue)]
    public long MaxDecompressedBytes { get; set; } = 8L * 1024 * 1024 * 1024;

    [Range(1, int.MaxValue)]
    public int MaxRows { get; set; } = 10_000_000;

    [Range(64, 1024 * 1024)]
    public int MaxRowBytes { get; set; } = 64 * 1024;

    [Range(1, 256)]
    public int MaxRecordIdLength { get; set; } = 128;

    [Range(1, 64)]
    public int MaxIdentifiersPerRecord { get; set; } = 48;

    [Range(0, 64)]
    public int MaxAttributesPerRecord { get; set; } = 32;

    [Range(1, 4096)]
    public int MaxAttributeLength { get; set; } = 256;

    /// <summary>What a bad row does when the request does not say: "reject" (nothing is applied) or "skip".</summary>
    [RegularExpression("^(reject|skip)$")]
    public string DefaultErrorPolicy { get; set; } = "reject";

    /// <summary>
    /// Row errors listed in a response. Under the reject policy, reading stops once this many are listed (the upload
    /// is rejected anyway) and the response says the count is incomplete; under skip every row is read and counted.
    /// </summary>
    [Range(1, 10_000)]
    public int MaxReportedErrors { get; set; } = 100;

    [Range(128, 1_000_000)]
    public int SegmentRecords { get; set; } = 8192;

    /// <summary>A pending upload not heard from for this long is considered dead and removed.</summary>
    [Range(1, 1440)]
    public int AbandonAfterMinutes { get; set; } = 15;

    /// <summary>
    /// Lease on an upload's Idempotency-Key, renewed every third of it while the upload is alive (whether or not its
    /// client is sending): a retry after a crash of the instance running the upload waits at most this long.
    /// </summary>
    [Range(1, 3600)]
    public int IdempotencyLeaseSeconds { get; set; } = 30;

    /// <summary>Deltas stacked on a snapshot before they are folded into a new snapshot.</summary>
    [Range(1, 1000)]
    public int CompactAfterDeltas { get; set; } = 8;

    /// <summary>
    /// Whether a snapshot upload also stores its records as segments (true, as before 2026-12-02) or only as its stored
    /// columns — token columns and record blocks, which hold all of it — writing about half the bytes (false, the
    /// default). Either way the version commits with its columns; what reads a snapshot's records reads them from its
    /// columns when it has no segments (docs/architecture.md, "A snapshot without segments"). Deltas and compactions
    /// store segments always.
    /// </summary>
    public bool SnapshotSegments { get; set; }

    /// <summary>
    /// A delta's columns are built on its first load, after its commit, from its base's (docs/architecture.md, "A delta's
    /// columns"); their sealed parts are stored in transactions of about this many bytes as they are built, the header last,
    /// so a build never holds them all (about 100 MB at a million records) and never holds the database's write lock for
    /// long.
    /// </summary>
    [Range(1, int.MaxValue)]
    public int DeltaColumnsBatchBytes { get; set; } = 8 << 20;

    /// <summary>
    /// Logs, once per upload at Information, the time each stage of its pipeline spent working and waiting
    /// (<see cref="UploadStageTimes"/>; docs/performance.md, "Uploads"): a diagnostic, off by default.
    /// </summary>
    public bool LogStageTimes { get; set; }
}
