using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Data.Schedules;

internal static class ScheduleText
{
    public static string Of<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();
    public static T Parse<T>(string text) where T : struct, Enum => Enum.Parse<T>(text, ignoreCase: true);
}

internal sealed class ScheduleRow
{
    public string Id { get; init; } = "";
    public string OrganizationId { get; init; } = "";
    public string Name { get; init; } = "";
    public string Cron { get; init; } = "";
    public string TimeZone { get; init; } = "";
    public bool Enabled { get; init; }
    public string Kind { get; init; } = "";
    public string? PopulationId { get; init; }
    public string? Format { get; init; }
    public string? OnError { get; init; }
    public string? SourceUrl { get; init; }
    public byte[]? SourceUrlNonce { get; init; }
    public byte[]? SourceUrlSealed { get; init; }
    public long? SourceUrlKeyVersion { get; init; }
    public string? SecretHeaderName { get; init; }
    public byte[]? SecretNonce { get; init; }
    public byte[]? SecretValue { get; init; }
    public long? SecretKeyVersion { get; init; }
    public string? SourceDirectory { get; init; }
    public string? SourcePattern { get; init; }
    public long? NextRunAt { get; init; }
    public string? NextRunWall { get; init; }
    public string? LastRunId { get; init; }
    public string? LastRunStatus { get; init; }
    public long? LastRunAt { get; init; }
    public string? LeaseOwner { get; init; }
    public long? LeaseUntil { get; init; }
    public string CreatedBy { get; init; } = "";
    public long CreatedAt { get; init; }
    public long UpdatedAt { get; init; }
    public long HashingSpec { get; init; } = 1;

    public Schedule ToDomain() => new(Id, OrganizationId, Name, Cron, TimeZone, Enabled, ScheduleText.Parse<ScheduleKind>(Kind), PopulationId, Format, OnError,
        SourceUrl, SecretHeaderName, SecretNonce is null || SecretValue is null ? null : new SealedValue(SecretNonce, SecretValue, (int)(SecretKeyVersion ?? 1)),
        SourceDirectory, SourcePattern, Time.FromUnixMs(NextRunAt), NextRunWall, LastRunId,
        LastRunStatus is null ? null : ScheduleText.Parse<RunStatus>(LastRunStatus), Time.FromUnixMs(LastRunAt), LeaseOwner, Time.FromUnixMs(LeaseUntil),
        CreatedBy, Time.FromUnixMs(CreatedAt), Time.FromUnixMs(UpdatedAt), (int)HashingSpec,
        // A plaintext URL beside a sealed one was written by a previous build (during an upgrade), after the sealed one: it wins.
        SourceUrl is not null || SourceUrlNonce is null || SourceUrlSealed is null ? null : new SealedValue(SourceUrlNonce, SourceUrlSealed, (int)(SourceUrlKeyVersion ?? 1)));

    /// <summary>
    /// The parameters of a schedule's definition, as the INSERT and UPDATE statements name them. A source URL that is
    /// sealed is stored sealed only (the plaintext the caller may still hold is not written).
    /// </summary>
    public static object Parameters(Schedule s) => s is { SourceUrl: not null, SealedSourceUrl: null }
        ? throw new ArgumentException("A schedule's source URL is written sealed.", nameof(s))
        : new
    {
        s.Id, s.OrganizationId, s.Name, s.Cron, s.TimeZone, s.Enabled, Kind = ScheduleText.Of(s.Kind), s.PopulationId, s.Format, s.OnError,
        SourceUrl = s.SealedSourceUrl is null ? s.SourceUrl : null, SourceUrlNonce = s.SealedSourceUrl?.Nonce, SourceUrlSealed = s.SealedSourceUrl?.Ciphertext,
        SourceUrlKeyVersion = s.SealedSourceUrl?.KeyVersion, s.SecretHeaderName, SecretNonce = s.SecretValue?.Nonce, SecretValue = s.SecretValue?.Ciphertext, SecretKeyVersion = s.SecretValue?.KeyVersion,
        s.SourceDirectory, s.SourcePattern, NextRunAt = Time.ToUnixMs(s.NextRunAt), s.NextRunWall, s.CreatedBy,
        CreatedAt = Time.ToUnixMs(s.CreatedAt), UpdatedAt = Time.ToUnixMs(s.UpdatedAt), s.HashingSpec,
    };
}

internal sealed class SyncRunRow
{
    public long Seq { get; init; }
    public string Id { get; init; } = "";
    public string ScheduleId { get; init; } = "";
    public string OrganizationId { get; init; } = "";
    public string TriggerType { get; init; } = "";
    public long Attempt { get; init; }
    public string? RetryOf { get; init; }
    public string Status { get; init; } = "";
    public long CreatedAt { get; init; }
    public long? StartedAt { get; init; }
    public long? FinishedAt { get; init; }
    public long RowsRead { get; init; }
    public long RecordsApplied { get; init; }
    public long RowsRejected { get; init; }
    public string? ErrorTitle { get; init; }
    public string? ErrorDetail { get; init; }

    public SyncRun ToDomain() => new(Id, ScheduleId, OrganizationId, ScheduleText.Parse<RunTrigger>(TriggerType), (int)Attempt, RetryOf,
        ScheduleText.Parse<RunStatus>(Status), Time.FromUnixMs(CreatedAt), Time.FromUnixMs(StartedAt), Time.FromUnixMs(FinishedAt),
        RowsRead, RecordsApplied, RowsRejected, ErrorTitle, ErrorDetail);
}
