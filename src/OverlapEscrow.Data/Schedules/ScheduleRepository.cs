using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Data.Schedules;

internal sealed class ScheduleRepository(IDbScope scope) : IScheduleRepository
{
    private const string LeaseFree = "(lease_until IS NULL OR lease_until <= @now)";

    public async Task<ScheduleWriteOutcome> CreateAsync(Schedule schedule, int maxPerOrganization, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        // Schedule writers of one organization take turns (its row is locked), so the count below holds until commit.
        var args = ScheduleRow.Parameters(schedule);
        await db.ScalarAsync<string?>($"SELECT id FROM organizations WHERE id = @OrganizationId{db.Dialect.ForNoKeyUpdate}", args);
        if (await db.ScalarAsync<long>("SELECT COUNT(*) FROM schedules WHERE organization_id = @OrganizationId AND name = @Name", args) > 0)
            return ScheduleWriteOutcome.NameTaken;
        if (await db.ScalarAsync<long>("SELECT COUNT(*) FROM schedules WHERE organization_id = @OrganizationId", args) >= maxPerOrganization)
            return ScheduleWriteOutcome.TooMany;
        var n = await db.ExecuteAsync(
            """
            INSERT INTO schedules (id, organization_id, name, cron, time_zone, enabled, kind, population_id, format, on_error,
                                   source_url, source_url_nonce, source_url_sealed, source_url_key_version,
                                   secret_header_name, secret_nonce, secret_value, secret_key_version, source_directory, source_pattern,
                                   next_run_at, next_run_wall, created_by, created_at, updated_at, hashing_spec)
            VALUES (@Id, @OrganizationId, @Name, @Cron, @TimeZone, @Enabled, @Kind, @PopulationId, @Format, @OnError,
                    @SourceUrl, @SourceUrlNonce, @SourceUrlSealed, @SourceUrlKeyVersion, @SecretHeaderName, @SecretNonce, @SecretValue, @SecretKeyVersion, @SourceDirectory, @SourcePattern,
                    @NextRunAt, @NextRunWall, @CreatedBy, @CreatedAt, @UpdatedAt, @HashingSpec)
            ON CONFLICT (organization_id, name) DO NOTHING
            """, args);
        if (n != 1) return ScheduleWriteOutcome.NameTaken;
        await tx.CommitAsync();
        return ScheduleWriteOutcome.Done;
    }

    public async Task<IReadOnlyList<Schedule>> ListAsync(string organizationId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<ScheduleRow>(
            "SELECT * FROM schedules WHERE organization_id = @organizationId ORDER BY name, id", new { organizationId })).Select(s => s.ToDomain()).ToList();
    }

    public async Task<Schedule?> GetAsync(string organizationId, string scheduleId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.FirstOrDefaultAsync<ScheduleRow>(
            "SELECT * FROM schedules WHERE id = @scheduleId AND organization_id = @organizationId", new { organizationId, scheduleId }))?.ToDomain();
    }

    public async Task<ScheduleWriteOutcome> UpdateAsync(Schedule schedule, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        var args = ScheduleRow.Parameters(schedule);
        // Schedule writers of one organization take turns (its row is locked), so the name check below holds until commit.
        await db.ScalarAsync<string?>($"SELECT id FROM organizations WHERE id = @OrganizationId{db.Dialect.ForNoKeyUpdate}", args);
        var taken = await db.ScalarAsync<long>(
            "SELECT COUNT(*) FROM schedules WHERE organization_id = @OrganizationId AND name = @Name AND id <> @Id", args);
        if (taken > 0) return ScheduleWriteOutcome.NameTaken;
        var n = await db.ExecuteAsync(
            """
            UPDATE schedules
            SET name = @Name, cron = @Cron, time_zone = @TimeZone, enabled = @Enabled, kind = @Kind, population_id = @PopulationId,
                format = @Format, on_error = @OnError, source_url = @SourceUrl, source_url_nonce = @SourceUrlNonce,
                source_url_sealed = @SourceUrlSealed, source_url_key_version = @SourceUrlKeyVersion, secret_header_name = @SecretHeaderName,
                secret_nonce = @SecretNonce, secret_value = @SecretValue, secret_key_version = @SecretKeyVersion, source_directory = @SourceDirectory,
                source_pattern = @SourcePattern, next_run_at = @NextRunAt, next_run_wall = @NextRunWall, updated_at = @UpdatedAt,
                hashing_spec = @HashingSpec
            WHERE id = @Id AND organization_id = @OrganizationId
            """, args);
        if (n != 1) return ScheduleWriteOutcome.NotFound;
        await tx.CommitAsync();
        return ScheduleWriteOutcome.Done;
    }

    public async Task<ScheduleWriteOutcome> DeleteAsync(string organizationId, string scheduleId, DateTimeOffset now, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        var row = await db.FirstOrDefaultAsync<ScheduleRow>(
            $"SELECT * FROM schedules WHERE id = @scheduleId AND organization_id = @organizationId{db.Dialect.ForUpdate}", new { organizationId, scheduleId });
        if (row is null) return ScheduleWriteOutcome.NotFound;
        if (row.LeaseUntil > Time.ToUnixMs(now)) return ScheduleWriteOutcome.Running;
        await db.ExecuteAsync("DELETE FROM schedules WHERE id = @scheduleId AND organization_id = @organizationId", new { organizationId, scheduleId });
        await tx.CommitAsync();
        return ScheduleWriteOutcome.Done;
    }

    public async Task<IReadOnlyList<Schedule>> ListRunnableAsync(DateTimeOffset now, int limit, int perOrganization, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<ScheduleRow>(
            $"""
            SELECT * FROM (
                SELECT s.*, ROW_NUMBER() OVER (PARTITION BY organization_id ORDER BY next_run_at, id) AS organization_rank
                FROM schedules s
                WHERE {LeaseFree}
                  AND ((enabled = @enabled AND next_run_at <= @now)
                       OR EXISTS (SELECT 1 FROM sync_runs r WHERE r.schedule_id = s.id AND r.status = 'queued'))
            ) runnable
            WHERE organization_rank <= @perOrganization
            ORDER BY next_run_at, id
            LIMIT @limit
            """, new { now = Time.ToUnixMs(now), limit, perOrganization, enabled = true })).Select(s => s.ToDomain()).ToList();
    }

    public async Task<Schedule?> FindAsync(string scheduleId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.FirstOrDefaultAsync<ScheduleRow>("SELECT * FROM schedules WHERE id = @scheduleId", new { scheduleId }))?.ToDomain();
    }

    public async Task<bool> TryAcquireLeaseAsync(string scheduleId, string owner, DateTimeOffset now, DateTimeOffset leaseUntil, ScheduleAdvance? advance, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        // One conditional UPDATE (a compare-and-set on the lease and the next run): of two instances racing here,
        // exactly one changes the row.
        var sql = advance is null
            ? $"UPDATE schedules SET lease_owner = @owner, lease_until = @leaseUntil WHERE id = @scheduleId AND {LeaseFree}"
            : $"""
              UPDATE schedules SET lease_owner = @owner, lease_until = @leaseUntil, next_run_at = @NextRunAt, next_run_wall = @NextRunWall
              WHERE id = @scheduleId AND {LeaseFree} AND enabled = @enabled AND next_run_at = @ExpectedNextRunAt
              """;
        return await db.ExecuteAsync(sql, new
        {
            scheduleId, owner, now = Time.ToUnixMs(now), leaseUntil = Time.ToUnixMs(leaseUntil), enabled = true,
            ExpectedNextRunAt = Time.ToUnixMs(advance?.ExpectedNextRunAt), NextRunAt = Time.ToUnixMs(advance?.NextRunAt), advance?.NextRunWall,
        }) == 1;
    }

    public async Task<bool> RenewLeaseAsync(string scheduleId, string owner, DateTimeOffset leaseUntil, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return await db.ExecuteAsync(
            "UPDATE schedules SET lease_until = @leaseUntil WHERE id = @scheduleId AND lease_owner = @owner",
            new { scheduleId, owner, leaseUntil = Time.ToUnixMs(leaseUntil) }) == 1;
    }

    public async Task ReleaseLeaseAsync(string scheduleId, string owner, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await db.ExecuteAsync(
            "UPDATE schedules SET lease_owner = NULL, lease_until = NULL WHERE id = @scheduleId AND lease_owner = @owner",
            new { scheduleId, owner });
    }

    public async Task<SyncRun?> QueueRunAsync(string organizationId, string scheduleId, string runId, DateTimeOffset now, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        // The schedule's row is locked, so two "run now" requests queue one run.
        var exists = await db.ScalarAsync<string?>(
            $"SELECT id FROM schedules WHERE id = @scheduleId AND organization_id = @organizationId{db.Dialect.ForNoKeyUpdate}", new { organizationId, scheduleId });
        if (exists is null) return null;
        var queued = await db.FirstOrDefaultAsync<SyncRunRow>(
            "SELECT * FROM sync_runs WHERE schedule_id = @scheduleId AND status = 'queued' ORDER BY seq LIMIT 1", new { scheduleId });
        if (queued is not null) return queued.ToDomain();
        var row = await db.SingleAsync<SyncRunRow>(
            """
            INSERT INTO sync_runs (id, schedule_id, organization_id, trigger_type, attempt, status, created_at)
            VALUES (@runId, @scheduleId, @organizationId, 'manual', 1, 'queued', @now)
            RETURNING *
            """, new { runId, scheduleId, organizationId, now = Time.ToUnixMs(now) });
        await tx.CommitAsync();
        return row.ToDomain();
    }

    public async Task<SyncRun?> NextQueuedAsync(string scheduleId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.FirstOrDefaultAsync<SyncRunRow>(
            "SELECT * FROM sync_runs WHERE schedule_id = @scheduleId AND status = 'queued' ORDER BY seq LIMIT 1", new { scheduleId }))?.ToDomain();
    }

    public async Task StartRunAsync(SyncRun run, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        var args = new
        {
            run.Id, run.ScheduleId, run.OrganizationId, TriggerType = ScheduleText.Of(run.Trigger), run.Attempt, run.RetryOf,
            CreatedAt = Time.ToUnixMs(run.CreatedAt), StartedAt = Time.ToUnixMs(run.StartedAt),
        };
        var started = await db.ExecuteAsync("UPDATE sync_runs SET status = 'running', started_at = @StartedAt WHERE id = @Id AND status = 'queued'", args);
        if (started == 0)
            await db.ExecuteAsync(
                """
                INSERT INTO sync_runs (id, schedule_id, organization_id, trigger_type, attempt, retry_of, status, created_at, started_at)
                VALUES (@Id, @ScheduleId, @OrganizationId, @TriggerType, @Attempt, @RetryOf, 'running', @CreatedAt, @StartedAt)
                """, args);
        await tx.CommitAsync();
    }

    public async Task FinishRunAsync(string scheduleId, string runId, RunCompletion completion, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        var args = new
        {
            scheduleId, runId, Status = ScheduleText.Of(completion.Status), FinishedAt = Time.ToUnixMs(completion.FinishedAt), completion.RowsRead,
            completion.RecordsApplied, completion.RowsRejected, completion.ErrorTitle, completion.ErrorDetail,
        };
        await db.ExecuteAsync(
            """
            UPDATE sync_runs
            SET status = @Status, finished_at = @FinishedAt, rows_read = @RowsRead, records_applied = @RecordsApplied,
                rows_rejected = @RowsRejected, error_title = @ErrorTitle, error_detail = @ErrorDetail
            WHERE id = @runId AND schedule_id = @scheduleId
            """, args);
        await db.ExecuteAsync(
            "UPDATE schedules SET last_run_id = @runId, last_run_status = @Status, last_run_at = @FinishedAt WHERE id = @scheduleId", args);
        await tx.CommitAsync();
    }

    public async Task DeleteRunAsync(string runId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await db.ExecuteAsync("DELETE FROM sync_runs WHERE id = @runId", new { runId });
    }

    public async Task<int> FailInterruptedRunsAsync(string scheduleId, DateTimeOffset now, string title, string detail, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return await db.ExecuteAsync(
            """
            UPDATE sync_runs SET status = 'failed', finished_at = @now, error_title = @title, error_detail = @detail
            WHERE schedule_id = @scheduleId AND status = 'running'
            """, new { scheduleId, now = Time.ToUnixMs(now), title, detail });
    }

    public async Task<IReadOnlyList<SyncRun>> ListRunsAsync(string organizationId, string scheduleId, string? beforeRunId, int limit, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        const string Select = "SELECT * FROM sync_runs WHERE organization_id = @organizationId AND schedule_id = @scheduleId";
        var sql = beforeRunId is null
            ? Select + " ORDER BY seq DESC LIMIT @limit"
            : Select + """
               AND seq < (SELECT seq FROM sync_runs WHERE id = @beforeRunId AND organization_id = @organizationId AND schedule_id = @scheduleId)
              ORDER BY seq DESC LIMIT @limit
              """;
        return (await db.QueryAsync<SyncRunRow>(sql, new { organizationId, scheduleId, beforeRunId, limit })).Select(r => r.ToDomain()).ToList();
    }

    public async Task<IReadOnlyList<Schedule>> ListUnsealedSourcesAsync(string? afterId, int limit, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<ScheduleRow>(
            "SELECT * FROM schedules WHERE source_url IS NOT NULL AND id > @afterId ORDER BY id LIMIT @limit",
            new { afterId = afterId ?? "", limit })).Select(s => s.ToDomain()).ToList();
    }

    public async Task<bool> SealLegacySourceAsync(string scheduleId, string url, SealedValue sealedUrl, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return await db.ExecuteAsync(
            """
            UPDATE schedules SET source_url = NULL, source_url_nonce = @nonce, source_url_sealed = @sealed, source_url_key_version = @keyVersion
            WHERE id = @scheduleId AND source_url = @url
            """, new { scheduleId, url, nonce = sealedUrl.Nonce, @sealed = sealedUrl.Ciphertext, keyVersion = sealedUrl.KeyVersion }) == 1;
    }
}
