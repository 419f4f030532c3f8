using Dapper;

namespace OverlapEscrow.Data.Schedules;

public sealed class ScheduleRepository(IDbConnectionFactory db) : IScheduleRepository
{
    private const string LeaseFree = "(lease_until IS NULL OR lease_until <= @now)";

    public async Task<bool> CreateAsync(ScheduleRow schedule, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.ExecuteAsync(
            """
            INSERT INTO schedules (id, organization_id, name, cron, time_zone, enabled, kind, population_id, format, on_error,
                                   source_url, secret_header_name, secret_nonce, secret_value, source_directory, source_pattern,
                                   next_run_at, next_run_wall, created_by, created_at, updated_at)
            VALUES (@Id, @OrganizationId, @Name, @Cron, @TimeZone, @Enabled, @Kind, @PopulationId, @Format, @OnError,
                    @SourceUrl, @SecretHeaderName, @SecretNonce, @SecretValue, @SourceDirectory, @SourcePattern,
                    @NextRunAt, @NextRunWall, @CreatedBy, @CreatedAt, @UpdatedAt)
            ON CONFLICT (organization_id, name) DO NOTHING
            """, schedule) == 1;
    }

    public async Task<IReadOnlyList<ScheduleRow>> ListAsync(string organizationId, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<ScheduleRow>(
            "SELECT * FROM schedules WHERE organization_id = @organizationId ORDER BY name, id", new { organizationId })).AsList();
    }

    public async Task<ScheduleRow?> GetAsync(string organizationId, string scheduleId, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<ScheduleRow>(
            "SELECT * FROM schedules WHERE id = @scheduleId AND organization_id = @organizationId", new { organizationId, scheduleId });
    }

    public async Task<ScheduleWriteOutcome> UpdateAsync(ScheduleRow schedule, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var taken = await connection.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM schedules WHERE organization_id = @OrganizationId AND name = @Name AND id <> @Id", schedule, tx);
        if (taken > 0) return ScheduleWriteOutcome.NameTaken;
        var n = await connection.ExecuteAsync(
            """
            UPDATE schedules
            SET name = @Name, cron = @Cron, time_zone = @TimeZone, enabled = @Enabled, kind = @Kind, population_id = @PopulationId,
                format = @Format, on_error = @OnError, source_url = @SourceUrl, secret_header_name = @SecretHeaderName,
                secret_nonce = @SecretNonce, secret_value = @SecretValue, source_directory = @SourceDirectory,
                source_pattern = @SourcePattern, next_run_at = @NextRunAt, next_run_wall = @NextRunWall, updated_at = @UpdatedAt
            WHERE id = @Id AND organization_id = @OrganizationId
            """, schedule, tx);
        if (n != 1) return ScheduleWriteOutcome.NotFound;
        await tx.CommitAsync(ct);
        return ScheduleWriteOutcome.Done;
    }

    public async Task<ScheduleWriteOutcome> DeleteAsync(string organizationId, string scheduleId, long now, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<ScheduleRow>(
            "SELECT * FROM schedules WHERE id = @scheduleId AND organization_id = @organizationId", new { organizationId, scheduleId }, tx);
        if (row is null) return ScheduleWriteOutcome.NotFound;
        if (row.LeaseUntil > now) return ScheduleWriteOutcome.Running;
        await connection.ExecuteAsync("DELETE FROM schedules WHERE id = @scheduleId AND organization_id = @organizationId", new { organizationId, scheduleId }, tx);
        await tx.CommitAsync(ct);
        return ScheduleWriteOutcome.Done;
    }

    public async Task<IReadOnlyList<ScheduleRow>> ListRunnableAsync(long now, int limit, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<ScheduleRow>(
            $"""
            SELECT * FROM schedules s
            WHERE {LeaseFree}
              AND ((enabled = 1 AND next_run_at <= @now)
                   OR EXISTS (SELECT 1 FROM sync_runs r WHERE r.schedule_id = s.id AND r.status = 'queued'))
            ORDER BY next_run_at, id
            LIMIT @limit
            """, new { now, limit })).AsList();
    }

    public async Task<ScheduleRow?> FindAsync(string scheduleId, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<ScheduleRow>("SELECT * FROM schedules WHERE id = @scheduleId", new { scheduleId });
    }

    public async Task<bool> TryAcquireLeaseAsync(string scheduleId, string owner, long now, long leaseUntil, ScheduleAdvance? advance, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        // One statement: SQLite serializes writers, so of two instances racing here exactly one sees the lease free.
        var sql = advance is null
            ? $"UPDATE schedules SET lease_owner = @owner, lease_until = @leaseUntil WHERE id = @scheduleId AND {LeaseFree}"
            : $"""
              UPDATE schedules SET lease_owner = @owner, lease_until = @leaseUntil, next_run_at = @NextRunAt, next_run_wall = @NextRunWall
              WHERE id = @scheduleId AND {LeaseFree} AND enabled = 1 AND next_run_at = @ExpectedNextRunAt
              """;
        return await connection.ExecuteAsync(sql, new
        {
            scheduleId, owner, now, leaseUntil, advance?.ExpectedNextRunAt, advance?.NextRunAt, advance?.NextRunWall,
        }) == 1;
    }

    public async Task<bool> RenewLeaseAsync(string scheduleId, string owner, long leaseUntil, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.ExecuteAsync(
            "UPDATE schedules SET lease_until = @leaseUntil WHERE id = @scheduleId AND lease_owner = @owner",
            new { scheduleId, owner, leaseUntil }) == 1;
    }

    public async Task ReleaseLeaseAsync(string scheduleId, string owner, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        await connection.ExecuteAsync(
            "UPDATE schedules SET lease_owner = NULL, lease_until = NULL WHERE id = @scheduleId AND lease_owner = @owner",
            new { scheduleId, owner });
    }

    public async Task<SyncRunRow?> QueueRunAsync(string organizationId, string scheduleId, string runId, long now, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var exists = await connection.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM schedules WHERE id = @scheduleId AND organization_id = @organizationId", new { organizationId, scheduleId }, tx);
        if (exists == 0) return null;
        var queued = await connection.QueryFirstOrDefaultAsync<SyncRunRow>(
            "SELECT * FROM sync_runs WHERE schedule_id = @scheduleId AND status = 'queued' ORDER BY seq LIMIT 1", new { scheduleId }, tx);
        if (queued is not null) return queued;
        var row = await connection.QuerySingleAsync<SyncRunRow>(
            """
            INSERT INTO sync_runs (id, schedule_id, organization_id, trigger_type, attempt, status, created_at)
            VALUES (@runId, @scheduleId, @organizationId, 'manual', 1, 'queued', @now)
            RETURNING *
            """, new { runId, scheduleId, organizationId, now }, tx);
        await tx.CommitAsync(ct);
        return row;
    }

    public async Task<SyncRunRow?> NextQueuedAsync(string scheduleId, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QueryFirstOrDefaultAsync<SyncRunRow>(
            "SELECT * FROM sync_runs WHERE schedule_id = @scheduleId AND status = 'queued' ORDER BY seq LIMIT 1", new { scheduleId });
    }

    public async Task StartRunAsync(SyncRunRow run, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var started = await connection.ExecuteAsync(
            "UPDATE sync_runs SET status = 'running', started_at = @StartedAt WHERE id = @Id AND status = 'queued'", run, tx);
        if (started == 0)
            await connection.ExecuteAsync(
                """
                INSERT INTO sync_runs (id, schedule_id, organization_id, trigger_type, attempt, retry_of, status, created_at, started_at)
                VALUES (@Id, @ScheduleId, @OrganizationId, @TriggerType, @Attempt, @RetryOf, 'running', @CreatedAt, @StartedAt)
                """, run, tx);
        await tx.CommitAsync(ct);
    }

    public async Task FinishRunAsync(string scheduleId, string runId, RunCompletion completion, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await connection.ExecuteAsync(
            """
            UPDATE sync_runs
            SET status = @Status, finished_at = @FinishedAt, rows_read = @RowsRead, records_applied = @RecordsApplied,
                rows_rejected = @RowsRejected, error_title = @ErrorTitle, error_detail = @ErrorDetail
            WHERE id = @runId AND schedule_id = @scheduleId
            """, new { scheduleId, runId, completion.Status, completion.FinishedAt, completion.RowsRead, completion.RecordsApplied,
                completion.RowsRejected, completion.ErrorTitle, completion.ErrorDetail }, tx);
        await connection.ExecuteAsync(
            "UPDATE schedules SET last_run_id = @runId, last_run_status = @Status, last_run_at = @FinishedAt WHERE id = @scheduleId",
            new { scheduleId, runId, completion.Status, completion.FinishedAt }, tx);
        await tx.CommitAsync(ct);
    }

    public async Task DeleteRunAsync(string runId, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        await connection.ExecuteAsync("DELETE FROM sync_runs WHERE id = @runId", new { runId });
    }

    public async Task<int> FailInterruptedRunsAsync(string scheduleId, long now, string title, string detail, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.ExecuteAsync(
            """
            UPDATE sync_runs SET status = 'failed', finished_at = @now, error_title = @title, error_detail = @detail
            WHERE schedule_id = @scheduleId AND status = 'running'
            """, new { scheduleId, now, title, detail });
    }

    public async Task<IReadOnlyList<SyncRunRow>> ListRunsAsync(string organizationId, string scheduleId, string? beforeRunId, int limit, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        const string Select = "SELECT * FROM sync_runs WHERE organization_id = @organizationId AND schedule_id = @scheduleId";
        var sql = beforeRunId is null
            ? Select + " ORDER BY seq DESC LIMIT @limit"
            : Select + """
               AND seq < (SELECT seq FROM sync_runs WHERE id = @beforeRunId AND organization_id = @organizationId AND schedule_id = @scheduleId)
              ORDER BY seq DESC LIMIT @limit
              """;
        return (await connection.QueryAsync<SyncRunRow>(sql, new { organizationId, scheduleId, beforeRunId, limit })).AsList();
    }
}
