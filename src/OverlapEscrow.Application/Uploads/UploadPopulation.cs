using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Opportunities;
using OverlapEscrow.Domain.Populations;
using OverlapEscrow.Domain.Records;
using OverlapEscrow.Domain.Tokens;
using OverlapEscrow.Domain;

namespace OverlapEscrow.Application.Uploads;

public enum ErrorPolicy { Reject, Skip }

public sealed record UploadRequest(
    Caller Caller,
    PopulationSummary Population,
    VersionKind Mode,
    ErrorPolicy Policy,
    IUploadParser Parser,
    Stream Body,
    bool Gzip,
    string? IdempotencyKey,
    bool AllowEmpty = false,
    int HashingSpec = HashingSpecs.Oldest);

public sealed record UploadResult(
    string PopulationId,
    string VersionId,
    string Mode,
    long RowsRead,
    long RecordsApplied,
    long RowsRejected,
    IReadOnlyList<RowError> Errors,
    long? RecordCount,
    DateTimeOffset CommittedAt);

/// <summary>How an upload ended: committed (or replayed), rejected with row errors, or refused before any row.</summary>
public abstract record UploadOutcome
{
    public sealed record Committed(UploadResult Result) : UploadOutcome;
    public sealed record Replayed(int StatusCode, string Body) : UploadOutcome;
    /// <summary>Rows were invalid under the reject policy; <see cref="ErrorCountComplete"/> is false when reading stopped early.</summary>
    public sealed record RowsRejected(long RowsRead, long ErrorCount, bool ErrorCountComplete, IReadOnlyList<RowError> Errors) : UploadOutcome;
    /// <param name="RetryAfter">When a retry may succeed (a held Idempotency-Key), for a Retry-After header.</param>
    /// <summary>An upload refused as a whole; <see cref="RowsRead"/> is how far it was read when that is known (too many rows).</summary>
    public sealed record Refused(int StatusCode, string Title, string Detail, RowError? Row = null, TimeSpan? RetryAfter = null, long RowsRead = 0) : UploadOutcome;
}

/// <summary>
/// The upload path: parse rows as they stream in, validate, re-key every identifier hash into a token, write
/// encrypted segments under a pending version, then commit that version — with its audit event — in one
/// transaction. A 2xx is only returned after that commit; any failure before it deletes the pending version, so the
/// previous version is untouched and stays current throughout. Scheduled pulls and the demo use it too.
/// </summary>
public sealed class UploadPopulation(
    IPopulationRepository populations,
    ITransactions transactions,
    IKeyring keyring,
    EscrowSecrets secrets,
    PopulationDataCache cache,
    OverlapRefresher refresher,
    IOptions<UploadOptions> options,
    TimeProvider time,
    ILogger<UploadPopulation> logger,
    IAuditRepository audit,
    IVersionColumnStore versionColumns)
{
    private readonly UploadOptions _o = options.Value;
    private readonly OrganizationSlots _running = new(options.Value.MaxConcurrent, options.Value.MaxConcurrentPerOrganization);

    /// <summary>
    /// A stored answer for a replay, written as the API writes the first one: a delta's unknown record count is left out
    /// of both, not null in one and absent in the other.
    /// </summary>
    private static readonly JsonSerializerOptions ResponseJson = new(JsonSerializerOptions.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Row errors kept with a refused upload's audit event (the population page shows them).</summary>
    public const int RecordedRowErrors = 20;

    public async Task<UploadOutcome> UploadAsync(UploadRequest request, CancellationToken ct)
    {
        // Admitted before anything is read or claimed: a refusal here changes nothing, and the client retries.
        using var slot = _running.TryTake(request.Caller.OrganizationId);
        if (slot is null) return Busy();
        var outcome = await ApplyAsync(request, ct);
        if (outcome is UploadOutcome.RowsRejected or UploadOutcome.Refused { StatusCode: not 409 }) await RecordRefusalAsync(request, outcome);
        return outcome;
    }

    private UploadOutcome.Refused Busy() => new(429, "Too many uploads at once",
        _running.AllTaken
            ? $"The service is running its most uploads at once ({_o.MaxConcurrent}); nothing was read or applied. Retry after the time given."
            : $"Your organization has {_o.MaxConcurrentPerOrganization} uploads in progress, the most it may run at once; nothing was read or applied. Retry after the time given.",
        RetryAfter: TimeSpan.FromSeconds(_o.BusyRetryAfterSeconds));

    /// <summary>
    /// A refused upload is audited (population.upload_refused) with its first row errors, so the owner can read what was
    /// wrong with a file its CRM job or a colleague sent. Row errors name a row, a field and a rule, never a value.
    /// A failure to record it does not change the answer.
    /// </summary>
    private async Task RecordRefusalAsync(UploadRequest request, UploadOutcome outcome)
    {
        try
        {
            var mode = request.Mode == VersionKind.Snapshot ? "snapshot" : "delta";
            object detail = outcome switch
            {
                UploadOutcome.RowsRejected r => new
                {
                    populationId = request.Population.Id, mode, status = 422, title = "Some rows are invalid; nothing was applied", rows = r.RowsRead,
                    rejected = r.ErrorCount, errorCountComplete = r.ErrorCountComplete,
                    errors = r.Errors.Take(RecordedRowErrors).Select(e => new { e.Row, e.Field, e.Message }),
                },
                UploadOutcome.Refused f => new
                {
                    populationId = request.Population.Id, mode, status = f.StatusCode, title = f.Title, reason = f.Detail,
                    errors = f.Row is null ? [] : new[] { new { f.Row.Row, f.Row.Field, f.Row.Message } },
                },
                _ => throw new InvalidOperationException("Not a refusal."),
            };
            await audit.AppendAsync(new AuditEntry(time.GetUtcNow(), request.Caller.OrganizationId, request.Caller.Actor, "population.upload_refused", null, detail),
                CancellationToken.None);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("Recording a refused upload of population {PopulationId} failed: {ExceptionType}", request.Population.Id, e.GetType().Name);
        }
    }

    private async Task<UploadOutcome> ApplyAsync(UploadRequest request, CancellationToken ct)
    {
        var organizationId = request.Caller.OrganizationId;
        var modeName = request.Mode == VersionKind.Snapshot ? "snapshot" : "delta";
        var now = time.GetUtcNow();
        IdempotencyHold? hold = null;
        IdempotencyLease? lease = null;
        if (request.IdempotencyKey is { } key)
        {
            var claim = await populations.ClaimIdempotencyKeyAsync(organizationId, key, request.Population.Id, request.Mode,
                now, now.AddSeconds(_o.IdempotencyLeaseSeconds), ct);
            switch (claim.Outcome)
            {
                case ClaimOutcome.Completed: return new UploadOutcome.Replayed(claim.Response!.StatusCode, claim.Response.Body);
                case ClaimOutcome.InProgress:
                    // The holder renews its lease every third of it, so by then it has either finished (the retry
                    // replays its answer), still holds the key, or has died and the lease runs out soon after.
                    return new UploadOutcome.Refused(409, "Upload in progress", "An upload with this Idempotency-Key is still in progress; retry later.",
                        RetryAfter: TimeSpan.FromSeconds(Math.Max(1, _o.IdempotencyLeaseSeconds / 3)));
                case ClaimOutcome.Mismatch: return new UploadOutcome.Refused(422, "Idempotency-Key reused", "This Idempotency-Key was used for a different population or mode.");
            }
            hold = new IdempotencyHold(organizationId, key, claim.ClaimToken!);
            lease = IdempotencyLease.Start(populations, hold, request.Population.Id, time, TimeSpan.FromSeconds(_o.IdempotencyLeaseSeconds), logger);
        }
        // The heartbeat stops before the commit and on every way out; a key lost to a retry stops the reading.
        await using var heartbeat = lease;
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(ct, lease?.Lost ?? CancellationToken.None);

        var versionId = Ids.New("ver");
        PopulationVersion? version = null;
        UploadResult result;
        try
        {
            await populations.BeginVersionAsync(versionId, request.Population.Id, request.Mode, now, ct, request.HashingSpec);
            using var cipher = await keyring.ForOrganizationAsync(organizationId, ct);
            // A snapshot's stored columns are built from its records as they are written and stored with the pending
            // version, so they commit with it and no read after it has to build them. A delta's depend on its base, known
            // only at the commit: the version cache builds them right after it (AfterCommitAsync), before the answer.
            // Segments and column parts are stored in order by a stage of their own, while the records after them are checked
            // and added: SQLite takes one writer at a time, and the upload's other stages need not wait for it. Every store
            // has finished (or the stage has stopped) before this block is left, so nothing is stored after an abandon.
            var stageTimes = _o.LogStageTimes ? new UploadStageTimes() : null;
            await using var store = new StoreQueue(reading.Token, stageTimes);
            // The blocks a snapshot's columns bring back when its ids stop arriving in order are opened with the organization's
            // keys as they are then, as the duplicate check's segments are (ReadBackWrittenIdsAsync).
            var columns = request.Mode == VersionKind.Snapshot
                ? new ColumnPartWriter(versionColumns, cipher, versionId, time, store, token => keyring.ForOrganizationAsync(organizationId, token))
                : null;
            var read = await ReadRowsAsync(request, versionId, cipher, columns, store, stageTimes, reading.Token);
            if (read.Refusal is not null) return read.Refusal;
            if (request.Policy == ErrorPolicy.Reject && read.ErrorCount > 0)
                return new UploadOutcome.RowsRejected(read.RowsRead, read.ErrorCount, read.ErrorCountComplete, read.Errors);
            if (request.Mode == VersionKind.Snapshot && read.Applied == 0 && !request.AllowEmpty)
                return new UploadOutcome.Refused(422, "Empty snapshot",
                    "The snapshot has no valid records; committing it would remove every record of the population. Send allowEmpty=true to empty it on purpose.");

            // The columns' last parts (the header, the sorted token columns, the record blocks not stored yet) are sorted,
            // sealed and stored with the pending version before the commit, in short transactions of their own, so the
            // commit's transaction holds the write lock only for its few rows; the heartbeat keeps the key meanwhile.
            var finishing = UploadStageTimes.Now();
            if (columns is not null) await columns.FinishAsync(reading.Token);
            await store.DrainAsync();
            if (read.Times is { } times)
            {
                times.Finish(finishing);
                logger.LogInformation("Upload stages of {VersionId} ({Rows} rows): {StageTimes}", versionId, read.RowsRead, times.Describe());
            }
            // A renewal racing the commit would find the key completed and take that for a loss; the commit itself
            // is bound to the claim token, so a key taken over meanwhile still applies nothing here.
            if (lease is not null) await lease.StopAsync();
            var committedAt = time.GetUtcNow();
            result = new UploadResult(request.Population.Id, versionId, modeName, read.RowsRead, read.Applied, read.ErrorCount,
                read.Errors, request.Mode == VersionKind.Snapshot ? read.Applied : null, committedAt);
            var completion = hold is null ? null : new IdempotencyCompletion(hold, new IdempotentResponse(200, JsonSerializer.Serialize(result, ResponseJson)));
            // The commit and its audit event are one transaction: an upload is applied and recorded, or neither.
            await using (var uow = await transactions.BeginAsync(CancellationToken.None))
            {
                // A delta's count is known only once applied to its base, after the commit (AfterCommitAsync): 0 until then.
                var committed = await uow.Populations.CommitAsync(versionId, result.RecordCount ?? 0, committedAt, completion, null, CancellationToken.None);
                if (committed is null)
                    return new UploadOutcome.Refused(409, "Upload not applied",
                        "This upload lost its Idempotency-Key to a retry, or sat idle so long it was taken for abandoned; it applied nothing. Retry with the same key.");
                // The version and its columns (stored with it while pending) commit together: a crash or a failure before the
                // commit leaves the version pending, and the abandon below, or the sweep after a crash, removes both.
                await uow.Audit.AppendAsync(new AuditEntry(committedAt, organizationId, request.Caller.Actor, "population.uploaded", null,
                    new { populationId = request.Population.Id, versionId, mode = modeName, rows = result.RowsRead, applied = result.RecordsApplied, rejected = result.RowsRejected }),
                    CancellationToken.None);
                // The refresh the new version needs commits with it (an outbox): a crash after the commit cannot lose it.
                await refresher.QueuePopulationChangedAsync(uow, organizationId, request.Population.Id, CancellationToken.None);
                await uow.CommitAsync(CancellationToken.None);
                // Only now: a failure before the commit leaves the version pending, and the finally block removes it.
                version = committed;
            }
        }
        catch (Exception) when (lease is { IsLost: true })
        {
            return NotApplied(); // whatever the cancelled reading threw
        }
        catch (UploadRejectedException e)
        {
            return new UploadOutcome.Refused(e.StatusCode, e.Title, e.Message, e.RowError);
        }
        catch (InvalidDataException) when (request.Gzip)
        {
            // Only a gzip body's decompression is the caller's: elsewhere this exception is the escrow's own (a 500).
            return new UploadOutcome.Refused(400, "The body could not be decompressed", "Content-Encoding says gzip but the body is not valid gzip.");
        }
        finally
        {
            if (lease is not null) await lease.StopAsync();
            if (version is null)
            {
                await populations.AbandonAsync(versionId, CancellationToken.None);
                if (hold is not null) await populations.ReleaseIdempotencyKeyAsync(hold, CancellationToken.None);
            }
        }

        logger.LogInformation("Committed {Mode} {VersionId} of population {PopulationId}: {Rows} rows, {Rejected} rejected",
            modeName, versionId, request.Population.Id, result.RowsRead, result.RowsRejected);
        // Committed: from here on the answer is success whatever else fails, because the data is in. Each
        // follow-up step is independent, so one failing does not skip the others.
        try
        {
            // The versions this one supersedes, and the overlaps computed from them, leave memory now.
            await cache.VersionCommittedAsync(organizationId, request.Population.Id, CancellationToken.None);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("Dropping the versions superseded by {VersionId} from memory failed: {ExceptionType}", versionId, e.GetType().Name);
        }
        refresher.Wake(); // the refresh was queued with the commit; this instance's worker starts on it now
        try
        {
            result = result with { RecordCount = await AfterCommitAsync(organizationId, request.Population.Id, version) };
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("Counting the records of committed version {VersionId} failed: {ExceptionType}", versionId, e.GetType().Name);
        }
        try
        {
            if (hold is not null && version.Kind == VersionKind.Delta)
                await populations.SetIdempotentResponseAsync(hold, new IdempotentResponse(200, JsonSerializer.Serialize(result, ResponseJson)), CancellationToken.None);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("Storing the response of committed version {VersionId} failed: {ExceptionType}", versionId, e.GetType().Name);
        }
        return new UploadOutcome.Committed(result);
    }

    private static UploadOutcome.Refused NotApplied() => new(409, "Upload not applied",
        "This upload lost its Idempotency-Key to a retry, or sat idle so long it was taken for abandoned; it applied nothing. Retry with the same key.");

    private sealed record ReadOutcome(long RowsRead, long Applied, long ErrorCount, bool ErrorCountComplete, List<RowError> Errors, UploadOutcome.Refused? Refusal,
        UploadStageTimes? Times = null);

    private async Task<ReadOutcome> ReadRowsAsync(UploadRequest request, string versionId, IOrganizationCipher cipher, ColumnPartWriter? columns,
        StoreQueue store, UploadStageTimes? times, CancellationToken ct)
    {
        var compressed = new LimitedStream(request.Body, _o.MaxBodyBytes, "body");
        GzipTrailerCheck? gzipCheck = null;
        LimitedStream? decompressed = null;
        Stream body = compressed;
        if (request.Gzip)
        {
            gzipCheck = new GzipTrailerCheck(compressed);
            body = decompressed = new LimitedStream(new GZipStream(gzipCheck, CompressionMode.Decompress), _o.MaxDecompressedBytes, "decompressed body");
        }
        if (times is not null) body = new TimedReadStream(body, times);
        await using var _ = body;

        // Every token key present keys each upload: during a token-key change that is the old and the new one, so the
        // version matches partners keyed under either (docs/operations.md). The version records which keys it holds.
        var tokenKeys = secrets.Versions(SecretKind.Token);
        using var keyers = new PerThreadKeyers(tokenKeys.Select(k => k.Key).ToList());
        await populations.RecordTokenKeysAsync(versionId, tokenKeys.Select(k => k.Version).ToList(), ct);
        // A snapshot's columns hold all of it: its segments, the same records once more, are stored only if configured so.
        var writer = new SegmentWriter(populations, cipher, versionId, _o.SegmentRecords, time, store,
            countOnly: columns is not null && !_o.SnapshotSegments);
        var seen = new SeenRecordIds();
        var errors = new List<RowError>();
        long rowsRead = 0, errorCount = 0;
        var opportunities = OpportunityFields.IsOpportunities(request.Population.Type);

        // Three stages: reading the body (only here, on one thread) and, for a format that splits into chunks of whole
        // rows, splitting it, otherwise parsing and validating rows too; parsing each chunk, re-keying each batch of rows,
        // hashing its record ids and encoding its records, on every core (each batch is a task of its own, with the HMAC
        // state of the thread it runs on); and, in the order of the rows, checking duplicates and the error policy, then
        // sealing and writing the encoded records and adding them to the columns. The channel holds the batches in row
        // order, at most a few per core, so a slow stage holds the others back instead of letting rows pile up.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var idSeed = BitConverter.ToInt64(RandomNumberGenerator.GetBytes(8));
        var encodedBuffers = new UploadBuffers(NdjsonUploadParser.ChunkBytes);
        var rowArrays = new RowArrays();
        var batches = Channel.CreateBounded<Task<PreparedBatch>>(
            new BoundedChannelOptions(Math.Max(4, 2 * Environment.ProcessorCount)) { SingleReader = true, SingleWriter = true });
        // A format that splits into chunks of whole rows (NDJSON) is parsed on every core too: only the split is in body order.
        var producer = request.Parser is IChunkedUploadParser chunked
            ? Task.Run(() => ProduceChunksAsync(chunked, body, batches.Writer, chunk => Task.Run(() => Prepare(chunked, chunk, keyers, idSeed, encodedBuffers, rowArrays, times)), stop.Token, times),
                CancellationToken.None)
            : Task.Run(() => ProduceAsync(request.Parser, body, batches.Writer, rows => Task.Run(() => Prepare(rows, keyers, idSeed, encodedBuffers, rowArrays)), stop.Token),
                CancellationToken.None);
        try
        {
            var waiting = UploadStageTimes.Now();
            await foreach (var prepared in batches.Reader.ReadAllAsync(ct))
            {
                var batch = await prepared;
                var handling = UploadStageTimes.Now();
                times?.WaitBatch(waiting);
                try
                {
                    await writer.KeepAliveAsync(ct);
                    for (var i = 0; i < batch.Count; i++)
                    {
                        var rowError = batch.Row(i).Error;
                        var encoded = batch.Encoded(i);
                        // The record id (a slice of the encoding) and whether it follows every id so far: once per row.
                        var id = rowError is null ? RecordIdOf(encoded) : default;
                        var fresh = rowError is null && seen.Follows(id.Span);
                        // The first id out of order: the ids written so far are read back from the segments (or, for a
                        // snapshot stored as its columns only, from its record blocks), once, for the duplicate check's hash
                        // table (SeenRecordIds); from then on no id follows, and every one is looked up.
                        if (rowError is null && !fresh && seen.InOrder)
                        {
                            if (writer.CountOnly) await columns!.ReadBackIdsAsync(seen, idSeed, ct);
                            else await ReadBackWrittenIdsAsync(seen, writer, store, versionId, request.Caller.OrganizationId, idSeed, ct);
                        }
                        ref readonly var row = ref batch.Row(i);
                        if (++rowsRead > _o.MaxRows)
                            return new ReadOutcome(rowsRead, 0, errorCount, false, errors,
                                new UploadOutcome.Refused(413, "Too many rows", $"An upload has at most {_o.MaxRows} rows; nothing was applied.", RowsRead: rowsRead));
                        if (rowError is null)
                        {
                            if (!fresh && seen.TryGetFirstRow(row.IdKey, out var firstRow)) rowError = new RowError(row.Row, "recordId", $"Duplicate recordId (first seen on row {firstRow}).");
                            else if (row.Delete && request.Mode == VersionKind.Snapshot) rowError = new RowError(row.Row, "op", "A snapshot replaces the population; op \"delete\" is only valid in a delta.");
                            else
                            {
                                // An opportunities population's documented fields have formats the figures rely on (docs/health.md).
                                if (opportunities && !row.Delete && OpportunityFields.Check(RecordCodec.ReadAll(encoded.Span, 1)[0].Attributes) is { } bad)
                                    rowError = new RowError(row.Row, "attributes." + bad.Field, bad.Message);
                                // Seen even when refused here: a later row with its id is still its duplicate. Written exactly
                                // when the code below hands it to the segments.
                                seen.Add(id.Span, row.IdKey, row.Row,
                                    written: rowError is null && !(request.Policy == ErrorPolicy.Reject && errorCount > 0));
                            }
                        }
                        if (rowError is { } error)
                        {
                            errorCount++;
                            if (errors.Count < _o.MaxReportedErrors) errors.Add(error);
                            else if (request.Policy == ErrorPolicy.Reject) return new ReadOutcome(rowsRead, 0, errorCount, false, errors, null); // rejected anyway; stop reading
                            continue;
                        }
                        if (request.Policy == ErrorPolicy.Reject && errorCount > 0) continue; // keep validating, write nothing
                        if (times is null)
                        {
                            await writer.AddEncodedAsync(encoded, ct);
                            if (columns is not null) await columns.AddAsync(encoded, ct);
                        }
                        else
                        {
                            var since = UploadStageTimes.Now();
                            await writer.AddEncodedAsync(encoded, ct);
                            times.Segments(since);
                            since = UploadStageTimes.Now();
                            if (columns is not null) await columns.AddAsync(encoded, ct);
                            times.Columns(since);
                        }
                    }
                }
                finally
                {
                    batch.Release();
                    times?.Ordered(handling);
                    waiting = UploadStageTimes.Now();
                }
            }
            await producer; // surfaces the parser's failure (limits, malformed CSV, gzip) if it had one
            // The decompressed stream's own position: with stage times on, `body` is the timing wrapper around it.
            if (gzipCheck is not null) gzipCheck.Verify(decompressed!.Position);
        }
        finally
        {
            await stop.CancelAsync();
            try { await producer; } catch { /* already surfaced above, or irrelevant after an early stop */ }
            // Batches still being re-keyed finish before their threads' keyers are disposed (and their hashes zeroed).
            while (batches.Reader.TryRead(out var left))
                try { (await left).Release(); } catch { /* irrelevant after an early stop */ }
        }
        await writer.FlushAsync(ct);
        return new ReadOutcome(rowsRead, writer.Written, errorCount, true, errors, null, times);
    }
    /// <summary>
    /// Turns the duplicate check's ids into its hash table (<see cref="SeenRecordIds"/>), with the key of every record
    /// written so far, in the order written: the segments already stored (every sealed one handed to the store stage
    /// first, and the stage drained), read back and opened one at a time, then the records not sealed yet. Once per upload
    /// at most, when its ids stop arriving in order.
    /// </summary>
    private async Task ReadBackWrittenIdsAsync(SeenRecordIds seen, SegmentWriter writer, StoreQueue store, string versionId, string organizationId,
        long idSeed, CancellationToken ct)
    {
        await writer.StoreSealedAsync(ct);
        await store.DrainAsync();
        if (!await populations.TouchAsync(versionId, time.GetUtcNow(), ct)) throw Abandoned(); // swept meanwhile
        // The organization's keys as they are now, not the upload's cipher: a data-key rotation since the upload began
        // re-seals its stored segments under the new key version (it keeps the old one until this upload ends).
        using var cipher = await keyring.ForOrganizationAsync(organizationId, ct);
        try
        {
            await ReadBackAsync(seen, writer, versionId, cipher, idSeed, ct);
        }
        catch (InvalidDataException)
        {
            // Fewer records read back than written: the pending version changed under the upload (swept between two
            // pages). Not applied, and said so (an InvalidDataException would read as a gzip error to the caller).
            throw Abandoned();
        }
    }

    private async Task ReadBackAsync(SeenRecordIds seen, SegmentWriter writer, string versionId, IOrganizationCipher cipher, long idSeed, CancellationToken ct)
    {
        seen.BeginTable();
        // A few segments at a time (about 6 MB at the default 8,192 records a segment), not the version's all at once: an
        // upload sorted but for a row near its end would otherwise hold every sealed segment it wrote here.
        for (var next = 0L; ;)
        {
            var segments = await populations.ReadSegmentsAsync(versionId, next, ReadBackSegments, ct);
            foreach (var segment in segments)
            {
                var plaintext = cipher.OpenSegment(versionId, segment.Seq, segment.Data);
                try
                {
                    if (AddKeys(plaintext, seen, idSeed) != segment.RecordCount)
                        throw new InvalidDataException($"Segment {segment.Seq} holds another count of records than {segment.RecordCount}.");
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(plaintext); // partner data: not left for the collector
                }
                next = segment.Seq + 1;
            }
            if (segments.Count < ReadBackSegments) break;
        }
        AddKeys(writer.Unsealed.Span, seen, idSeed);
        seen.EndTable();

        static int AddKeys(ReadOnlySpan<byte> records, SeenRecordIds seen, long seed)
        {
            var count = 0;
            for (var pos = 0; pos < records.Length; count++)
            {
                var record = records[pos..];
                seen.AddWrittenKey(RecordIdKey(RecordCodec.RecordIdBytes(record), seed));
                pos += RecordCodec.EncodedLength(record);
            }
            return count;
        }
    }

    /// <summary>The record id's UTF-8 within a record's encoding (<see cref="RecordCodec.RecordIdBytes"/>), as memory: it outlives an await.</summary>
    private static ReadOnlyMemory<byte> RecordIdOf(ReadOnlyMemory<byte> encoded)
    {
        var id = RecordCodec.RecordIdBytes(encoded.Span);
        return encoded.Span.Overlaps(id, out var offset) ? encoded.Slice(offset, id.Length) : ReadOnlyMemory<byte>.Empty;
    }

    /// <summary>
    /// A 128-bit key of a record id (XxHash128 of its UTF-8, seeded at random per upload): duplicate detection without
    /// keeping every id string of a large upload. Not a cryptographic hash, and it need not be one: the keys never leave
    /// the upload's memory, and an uploader who found two ids with one key (for an unknown seed) would only get a
    /// duplicate error in its own upload. It was SHA-256 through the platform: about 0.5 µs of a core per record, most of
    /// it the call's overhead, against a few tens of nanoseconds.
    /// </summary>
    internal static UInt128 RecordIdKey(ReadOnlySpan<byte> utf8, long seed) => System.IO.Hashing.XxHash128.HashToUInt128(utf8, seed);

    private static UInt128 RecordIdKey(string recordId, long seed)
    {
        var length = Encoding.UTF8.GetByteCount(recordId);
        Span<byte> utf8 = length <= 512 ? stackalloc byte[length] : new byte[length];
        Encoding.UTF8.GetBytes(recordId, utf8);
        return System.IO.Hashing.XxHash128.HashToUInt128(utf8, seed);
    }

    private const int BatchRows = 256;

    /// <summary>
    /// A snapshot stored as its columns only keeps one segment: its marker, sealed as any segment (so a data-key rotation
    /// re-seals it and an erasure deletes it), counted as holding no record while holding one (a deletion of this id). The
    /// escrow reads such a snapshot from its columns (<see cref="VersionStore"/>: a snapshot whose segments hold no record);
    /// a build from before columns-only snapshots, still running during a rolling upgrade or started again after a
    /// rollback, reads its segments and fails loudly on the count (<c>RecordCodec.ReadAll</c>), never taking the
    /// snapshot for an empty one.
    /// </summary>
    public const string ColumnsOnlyMarkerId = "oe-snapshot-stored-as-columns-only";

    /// <summary>Segments read back per statement when the duplicate check builds its table (<see cref="ReadBackWrittenIdsAsync"/>).</summary>
    private const int ReadBackSegments = 8;

    /// <summary>What the ordered stage needs of one row: its number, its error if it has one, and for a usable row its kind, its record id's duplicate key and where its encoding ends.</summary>
    internal struct PreparedEntry
    {
        public long Row;
        public RowError? Error;
        public bool Delete;
        public UInt128 IdKey;
        public int End;
    }

    /// <summary>
    /// A batch of rows, each usable one re-keyed and encoded for a segment (<see cref="RecordCodec"/>) in a buffer of the
    /// upload's that <see cref="Release"/> gives back: no object per row.
    /// </summary>
    internal sealed class PreparedBatch(PreparedEntry[] rows, int count, byte[] encoded, UploadBuffers owner, RowArrays? rowArrays = null)
    {
        private byte[]? _encoded = encoded;

        public int Count { get; } = count;

        public ref readonly PreparedEntry Row(int i) => ref rows[i];

        /// <summary>Row <paramref name="i"/>'s record as a segment holds it (empty for a row with an error).</summary>
        public ReadOnlyMemory<byte> Encoded(int i) => _encoded.AsMemory((i == 0 ? 0 : rows[i - 1].End)..rows[i].End);

        public void Release()
        {
            if (Interlocked.Exchange(ref _encoded, null) is { } bytes)
            {
                owner.Return(bytes);
                rowArrays?.Return(rows, Count);
            }
        }
    }

    /// <summary>
    /// The batches' row arrays, kept for reuse while the upload lasts: an array for a chunk's rows (a thousand or more, 48
    /// bytes each) is a large-object array, and one fresh per chunk was about 130 MB per million records, each left for a
    /// full collection (docs/performance.md, "Uploads").
    /// </summary>
    internal sealed class RowArrays
    {
        /// <summary>Rows of a 256 KiB chunk at 64 bytes a row; a chunk of shorter rows grows its array, which is then not kept.</summary>
        public const int Size = 4096;
        private readonly System.Collections.Concurrent.ConcurrentQueue<PreparedEntry[]> _free = new();

        public PreparedEntry[] Rent() => _free.TryDequeue(out var rows) ? rows : new PreparedEntry[Size];

        public void Return(PreparedEntry[] rows, int used)
        {
            if (rows.Length != Size || _free.Count >= 32) return;
            Array.Clear(rows, 0, used); // drops the row errors it points at
            _free.Enqueue(rows);
        }
    }

    /// <summary>Each re-keying thread's scratch buffer for encoding a batch's records before they are copied out to a pooled one.</summary>
    [ThreadStatic]
    private static System.Buffers.ArrayBufferWriter<byte>? _encodeScratch;

    /// <summary>
    /// The work of a row that depends on that row alone, done on the thread that parses it: hashing its record id,
    /// re-keying its hashes and encoding the record for its segment. A plain row (<see cref="PlainLine"/>) goes from the
    /// line's bytes to its encoding with no string and no object; any other row as before, through its
    /// <see cref="ParsedRecord"/>. Rows the ordered stage then refuses (duplicates, a deletion in a snapshot, anything after
    /// an error under reject) are re-keyed for nothing and dropped; every received hash is zeroed by the parser either way.
    /// </summary>
    internal sealed class BatchBuilder(TokenKeyers keyer, long idSeed, int expectedRows, RowArrays? pool = null) : IRowSink
    {
        private readonly System.Buffers.ArrayBufferWriter<byte> _scratch = Scratch();
        private PreparedEntry[] _rows = pool is not null && expectedRows <= RowArrays.Size ? pool.Rent() : new PreparedEntry[Math.Max(16, expectedRows)];
        private int _count;

        private static System.Buffers.ArrayBufferWriter<byte> Scratch()
        {
            var scratch = _encodeScratch ??= new System.Buffers.ArrayBufferWriter<byte>(1 << 18);
            scratch.ResetWrittenCount();
            return scratch;
        }

        public void AddPlain(long line, PlainLine row)
        {
            // The bytes RecordCodec.Write gives for the record ToRecord would make of the same row (a test compares them).
            var w = _scratch;
            RecordCodec.WriteByte(w, row.Delete ? (byte)1 : (byte)0);
            RecordCodec.WriteUtf8(w, row.RecordId);
            var keys = keyer.Count;
            RecordCodec.WriteLength(w, row.HashCount * keys);
            for (var i = 0; i < row.HashCount; i++)
            {
                var type = row.HashType(i);
                for (var k = 0; k < keys; k++)
                {
                    var span = w.GetSpan(1 + Token.Size);
                    span[0] = (byte)type;
                    keyer[k].Rekey(type, row.Hash(i)).Write(span[1..]);
                    w.Advance(1 + Token.Size);
                }
            }
            RecordCodec.WriteLength(w, row.AttributeCount);
            for (var a = 0; a < row.AttributeCount; a++)
            {
                RecordCodec.WriteUtf8(w, row.AttributeName(a));
                RecordCodec.WriteUtf8(w, row.AttributeValue(a));
            }
            Push(new PreparedEntry { Row = line, Delete = row.Delete, IdKey = RecordIdKey(row.RecordId, idSeed), End = w.WrittenCount });
        }

        public void AddParsed(ParsedRecord row)
        {
            if (row.Error is { } error)
            {
                Push(new PreparedEntry { Row = row.Row, Error = error, End = _scratch.WrittenCount });
                return;
            }
            RecordCodec.Write(_scratch, ToRecord(row, keyer));
            Push(new PreparedEntry { Row = row.Row, Delete = row.Delete, IdKey = RecordIdKey(row.RecordId!, idSeed), End = _scratch.WrittenCount });
        }

        private void Push(PreparedEntry row)
        {
            if (_count == _rows.Length) Array.Resize(ref _rows, 2 * _rows.Length);
            _rows[_count++] = row;
        }

        public PreparedBatch Finish(UploadBuffers buffers)
        {
            var encoded = buffers.Rent(_scratch.WrittenCount);
            _scratch.WrittenSpan.CopyTo(encoded);
            _scratch.Clear(); // attributes are partner data: not left in a thread's scratch
            return new PreparedBatch(_rows, _count, encoded, buffers, pool);
        }
    }

    /// <summary>A chunk of the body parsed, re-keyed and encoded on the thread this runs on.</summary>
    private static PreparedBatch Prepare(IChunkedUploadParser parser, UploadChunk chunk, PerThreadKeyers keyers, long idSeed, UploadBuffers buffers, RowArrays rowArrays,
        UploadStageTimes? times = null)
    {
        var since = UploadStageTimes.Now();
        using var _ = times is null ? null : new Timed(times, since);
        var builder = new BatchBuilder(keyers.Current, idSeed, 0, rowArrays);
        try
        {
            parser.Parse(chunk, builder);
            return builder.Finish(buffers);
        }
        catch
        {
            _encodeScratch?.Clear();
            throw;
        }
    }

    /// <summary>Rows parsed on the reading thread (CSV), re-keyed and encoded here.</summary>
    private static PreparedBatch Prepare(List<ParsedRecord> rows, PerThreadKeyers keyers, long idSeed, UploadBuffers buffers, RowArrays rowArrays)
    {
        var builder = new BatchBuilder(keyers.Current, idSeed, rows.Count, rowArrays);
        try
        {
            foreach (var row in rows) builder.AddParsed(row);
            return builder.Finish(buffers);
        }
        catch
        {
            _encodeScratch?.Clear();
            throw;
        }
        finally
        {
            // The hashes as received are dictionary-reversible: dropped here, re-keyed or not, never stored or logged.
            foreach (var row in rows) row.ZeroHashes();
        }
    }

    private sealed class Timed(UploadStageTimes times, long since) : IDisposable
    {
        public void Dispose() => times.Parse(since);
    }

    /// <summary>Hands each chunk of the body on, as the task that parses and prepares it, in body order.</summary>
    private static async Task ProduceChunksAsync(IChunkedUploadParser parser, Stream body, ChannelWriter<Task<PreparedBatch>> output,
        Func<UploadChunk, Task<PreparedBatch>> prepare, CancellationToken ct, UploadStageTimes? times = null)
    {
        try
        {
            var chunks = parser.SplitAsync(body, ct).GetAsyncEnumerator(ct);
            await using (chunks)
                while (true)
                {
                    var since = UploadStageTimes.Now();
                    if (!await chunks.MoveNextAsync()) break;
                    times?.Split(since);
                    since = UploadStageTimes.Now();
                    await HandOnAsync(output, prepare(chunks.Current), ct);
                    times?.HandOn(since);
                }
            output.Complete();
        }
        catch (Exception e)
        {
            output.Complete(e);
            throw;
        }
    }

    private static async Task HandOnAsync(ChannelWriter<Task<PreparedBatch>> output, Task<PreparedBatch> prepared, CancellationToken ct)
    {
        try
        {
            await output.WriteAsync(prepared, ct);
        }
        catch
        {
            // Not handed on (stopped): it is not in the channel, so nobody else waits for it before the keyers go.
            try { (await prepared).Release(); } catch { /* the stop is what is reported */ }
            throw;
        }
    }

    private static async Task ProduceAsync(IUploadParser parser, Stream body, ChannelWriter<Task<PreparedBatch>> output,
        Func<List<ParsedRecord>, Task<PreparedBatch>> prepare, CancellationToken ct)
    {
        try
        {
            var batch = new List<ParsedRecord>(BatchRows);
            await foreach (var row in parser.ReadAsync(body, ct))
            {
                batch.Add(row);
                if (batch.Count == BatchRows)
                {
                    await HandOnAsync(output, prepare(batch), ct);
                    batch = new List<ParsedRecord>(BatchRows);
                }
            }
            if (batch.Count > 0) await HandOnAsync(output, prepare(batch), ct);
            output.Complete();
        }
        catch (Exception e)
        {
            output.Complete(e);
            throw;
        }
    }

    /// <summary>
    /// The record ids seen so far, for the duplicate check, with the row each was first seen on.
    /// <para>While the ids arrive in increasing order (as <see cref="string.CompareOrdinal(string, string)"/> orders them),
    /// an id greater than the last one cannot have been seen: nothing is looked up, and nothing is kept of an id that is
    /// written to the segments but the rows' numbering (runs of consecutive rows, one entry for an upload without gaps).
    /// Such an id can be read back from the segments if it is ever needed. Only an id seen but not written (a row refused
    /// after the check, every row after an error under the reject policy) keeps its 128-bit key and row here (24 bytes).
    /// The keys of a million ids in order were 24 MB that lived to the upload's end, promoted into the collector's older
    /// generations, for the rare upload whose order breaks (docs/performance.md, "Uploads").</para>
    /// <para>The first id that is not greater turns them into the hash table (<see cref="BeginTable"/>): the written ids are
    /// read back from the segments by the caller, in the order they were written, and from then on every id is looked
    /// up. The hash table is 256 dictionaries picked by the key's low byte: one dictionary of a million entries grows by
    /// doubling a single large array, each old one left on the large-object heap until a full collection.</para>
    /// </summary>
    private sealed class SeenRecordIds
    {
        private const int Chunk = 4096;
        private byte[] _last = new byte[64];
        private int _lastLength = -1;
        // The written ids' rows while in order: (ordinal of the first of a run of consecutive rows, its row).
        private readonly List<(long Ordinal, long Row)> _runs = [];
        private long _written;
        private long _lastWrittenRow;
        // The ids seen in order but not written: their keys and rows.
        private List<UInt128[]>? _keys = [];
        private List<long[]>? _rows = [];
        private int _count;
        private Dictionary<UInt128, long>[]? _shards;

        /// <summary>Whether every id so far came in increasing order (no hash table yet).</summary>
        public bool InOrder => _shards is null;

        /// <summary>How many ids were added as written: the ordinal the next written one gets.</summary>
        public long Written => _written;

        /// <summary>An id greater than every one seen, while in order: it cannot have been seen.</summary>
        /// <param name="id">The record id's UTF-8, compared as <see cref="string.CompareOrdinal(string, string)"/> compares the strings (<see cref="VersionColumnsBuilder.CompareIds"/>).</param>
        public bool Follows(ReadOnlySpan<byte> id) =>
            _shards is null && (_lastLength < 0 || VersionColumnsBuilder.CompareIds(id, _last.AsSpan(0, _lastLength)) > 0);

        /// <summary>The row an id was first seen on; only once turned into the hash table (<see cref="EndTable"/>).</summary>
        public bool TryGetFirstRow(UInt128 key, out long row)
        {
            if (_shards is null) throw new InvalidOperationException("Looked up before the ids were turned into the hash table.");
            return _shards[(byte)key].TryGetValue(key, out row);
        }

        /// <param name="written">Whether the row goes to the segments (its ordinal is then <see cref="Written"/>).</param>
        public void Add(ReadOnlySpan<byte> id, UInt128 key, long row, bool written)
        {
            if (_shards is not null) { _shards[(byte)key].Add(key, row); return; }
            if (written)
            {
                if (_written == 0 || row != _lastWrittenRow + 1) _runs.Add((_written, row));
                _lastWrittenRow = row;
                _written++;
            }
            else
            {
                if (_count % Chunk == 0) { _keys!.Add(new UInt128[Chunk]); _rows!.Add(new long[Chunk]); }
                _keys![^1][_count % Chunk] = key;
                _rows![^1][_count % Chunk] = row;
                _count++;
            }
            if (_last.Length < id.Length) _last = new byte[Math.Max(id.Length, 2 * _last.Length)];
            id.CopyTo(_last);
            _lastLength = id.Length;
        }

        // While the written ids are read back into the hash table (BeginTable … EndTable).
        private long _readBack;
        private int _run;

        /// <summary>
        /// Starts turning the ids seen into the hash table: the caller then hands in the key of every written id, in the
        /// order written (<see cref="AddWrittenKey"/>, read back from the segments), and ends with <see cref="EndTable"/>.
        /// </summary>
        public void BeginTable()
        {
            if (_shards is not null) throw new InvalidOperationException("The ids are already a hash table.");
            var perShard = (int)Math.Min(int.MaxValue / 2, (_written + _count) / 256 + 16);
            _shards = Enumerable.Range(0, 256).Select(_ => new Dictionary<UInt128, long>(perShard)).ToArray();
            (_readBack, _run) = (0, -1);
        }

        public void AddWrittenKey(UInt128 key)
        {
            if (_readBack >= _written) throw new InvalidDataException($"More records were read back than the {_written} written.");
            while (_run + 1 < _runs.Count && _runs[_run + 1].Ordinal <= _readBack) _run++;
            _shards![(byte)key].Add(key, _runs[_run].Row + (_readBack - _runs[_run].Ordinal));
            _readBack++;
        }

        /// <summary>Adds the ids seen but not written; from here on every id is looked up.</summary>
        public void EndTable()
        {
            if (_readBack != _written) throw new InvalidDataException($"{_readBack} records were read back, {_written} were written.");
            for (var i = 0; i < _count; i++)
            {
                var key = _keys![i / Chunk][i % Chunk];
                _shards![(byte)key].Add(key, _rows![i / Chunk][i % Chunk]);
            }
            (_keys, _rows, _lastLength) = (null, null, -1);
            _runs.Clear();
        }
    }

    /// <summary>
    /// The upload's token keyers, one set per thread that re-keys (a <see cref="TokenKeyer"/> reuses one HMAC state and
    /// is not thread-safe), all disposed with the upload.
    /// </summary>
    private sealed class PerThreadKeyers(IReadOnlyList<byte[]> keys) : IDisposable
    {
        private readonly ThreadLocal<TokenKeyers> _keyers = new(() => new TokenKeyers(keys), trackAllValues: true);

        public TokenKeyers Current => _keyers.Value!;

        public void Dispose()
        {
            foreach (var keyer in _keyers.Values) keyer.Dispose();
            _keyers.Dispose();
        }
    }

    private static EscrowRecord ToRecord(ParsedRecord row, TokenKeyers keyer)
    {
        if (row.Delete) return EscrowRecord.Deletion(row.RecordId!);
        var tokens = new RecordToken[row.HashCount * keyer.Count];
        for (var i = 0; i < row.HashCount; i++)
        {
            var type = row.HashType(i);
            for (var k = 0; k < keyer.Count; k++) tokens[i * keyer.Count + k] = new RecordToken(type, keyer[k].Rekey(type, row.Hash(i)));
        }
        return new EscrowRecord(row.RecordId!, tokens, row.Attributes.Count == 0 ? [] : [.. row.Attributes]);
    }

    /// <summary>
    /// After a commit: the record count of a delta (known only once applied to its base), and folding long delta
    /// chains into a snapshot (the refresh of the population's partnerships is queued before this, so it happens
    /// whatever becomes of these steps).
    /// </summary>
    private async Task<long> AfterCommitAsync(string organizationId, string populationId, PopulationVersion version)
    {
        long count = version.RecordCount;
        if (version.Kind == VersionKind.Delta)
        {
            var data = await cache.GetAsync(organizationId, populationId, version.Id, CancellationToken.None);
            count = data.RecordCount;
            await populations.SetRecordCountAsync(version.Id, count, CancellationToken.None);
            if (version.Depth >= _o.CompactAfterDeltas)
                try
                {
                    if (_o.SnapshotSegments || !await CompactFromColumnsAsync(organizationId, populationId, version.Id, count))
                        await CompactAsync(organizationId, populationId, version.Id, await cache.MaterializeAsync(organizationId, version.Id, CancellationToken.None));
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The chain stays current (a later delta compacts it); the delta's count, known by now, is still answered.
                    logger.LogWarning("Compacting the chain of committed version {VersionId} failed: {ExceptionType}", version.Id, e.GetType().Name);
                }
        }
        return count;
    }

    /// <summary>Record blocks a compaction from columns reads and stores at once (256 records each: about 4 MiB).</summary>
    private const int CompactionPageBlocks = 256;

    /// <summary>Header and token column parts a compaction from columns reads and stores at once (up to 1.3 MiB each).</summary>
    private const int CompactionPageColumns = 4;

    /// <summary>
    /// Folds a delta chain into a snapshot stored as its columns only (<see cref="UploadOptions.SnapshotSegments"/> false):
    /// the snapshot's columns are the current version's (same records, same ordinals), so its parts are the current version's
    /// stored parts opened and sealed again under the snapshot's version id, a page at a time, with no record decoded, and its
    /// one segment is the columns-only marker. False, having kept nothing, when the current version has no stored columns
    /// (its first load failed): the caller then materializes the chain.
    /// </summary>
    private async Task<bool> CompactFromColumnsAsync(string organizationId, string populationId, string currentVersionId, long recordCount)
    {
        // The pending snapshot first, then the keys: a data-key rotation that starts after the keys are taken waits for it
        // (it waits for the versions pending when it starts), so nothing is sealed under a key the rotation then destroys.
        var (versionId, now) = await BeginCompactionAsync(organizationId, populationId, currentVersionId);
        PopulationVersion? done = null;
        try
        {
            using var cipher = await keyring.ForOrganizationAsync(organizationId, CancellationToken.None);
            VersionColumns.Header? header = null;
            for (long from = 0; ;)
            {
                var page = await versionColumns.ReadColumnPartsAsync(currentVersionId, from, CompactionPageColumns, CancellationToken.None);
                if (header is null)
                {
                    // No columns stored (or the chain was superseded and deleted meanwhile): left to the materialization.
                    if (page.Count == 0 || page[0].Part != VersionColumns.HeaderPart) return false;
                    var opened = cipher.Open(VersionStore.SealLabel, VersionStore.SealId(currentVersionId, page[0].Part), page[0].Data);
                    try { header = VersionColumns.ReadHeader(opened); }
                    finally { CryptographicOperations.ZeroMemory(opened); } // the blocks' first record ids
                    if (header.RecordCount != recordCount) return false;
                    if (recordCount > 0)
                        await new SegmentWriter(populations, cipher, versionId, _o.SegmentRecords, time, countOnly: true).MarkColumnsOnlyAsync(CancellationToken.None);
                }
                if (page.Count > 0 && !await StoreAgainAsync(page)) return true;
                if (page.Count < CompactionPageColumns) break;
                from = page[^1].Part + 1;
            }
            var blocks = header.BlockFirstIds.Length;
            for (var from = 0; from < blocks; from += CompactionPageBlocks)
            {
                var count = Math.Min(CompactionPageBlocks, blocks - from);
                var page = await versionColumns.ReadBlocksAsync(currentVersionId, [.. Enumerable.Range(from, count)], CancellationToken.None);
                if (page.Count != count) return true; // the chain was superseded and deleted meanwhile: nothing to fold
                if (!await StoreAgainAsync(page)) return true;
            }
            // Same content, so it only replaces the chain if nothing was committed meanwhile; the commit writes only its rows.
            await using (var uow = await transactions.BeginAsync(CancellationToken.None))
            {
                var committed = await uow.Populations.CommitAsync(versionId, recordCount, now, null, expectedCurrentVersionId: currentVersionId, CancellationToken.None);
                if (committed is null) return true;
                await uow.CommitAsync(CancellationToken.None);
                done = committed;
            }
            await cache.VersionCommittedAsync(organizationId, populationId, CancellationToken.None);
            return true;

            // The parts opened and sealed again under the snapshot's id (the seal binds version and part), stored with it while
            // it is pending; false when it no longer is (swept).
            async Task<bool> StoreAgainAsync(IReadOnlyList<VersionPart> parts)
            {
                var again = new List<VersionPart>(parts.Count);
                foreach (var part in parts)
                {
                    var plaintext = cipher.Open(VersionStore.SealLabel, VersionStore.SealId(currentVersionId, part.Part), part.Data);
                    again.Add(new VersionPart(part.Part, cipher.Seal(VersionStore.SealLabel, VersionStore.SealId(versionId, part.Part), plaintext)));
                    CryptographicOperations.ZeroMemory(plaintext); // partner data: not left for the collector
                }
                return await versionColumns.AppendPendingAsync(versionId, again, time.GetUtcNow(), CancellationToken.None);
            }
        }
        finally
        {
            if (done is null) await populations.AbandonAsync(versionId, CancellationToken.None);
        }
    }

    private const int CompactionFlushBytes = 4 << 20;

    /// <summary>
    /// The pending snapshot a compaction of the chain of <paramref name="currentVersionId"/> writes, and its time. It carries
    /// the population's hashing specification as it is (an uploaded snapshot carries its upload's): partners compare it.
    /// </summary>
    private async Task<(string VersionId, DateTimeOffset Now)> BeginCompactionAsync(string organizationId, string populationId, string currentVersionId)
    {
        var versionId = Ids.New("ver");
        var now = time.GetUtcNow();
        var spec = (await populations.GetAsync(organizationId, populationId, CancellationToken.None))?.HashingSpec ?? HashingSpecs.Oldest;
        await populations.BeginVersionAsync(versionId, populationId, VersionKind.Snapshot, now, CancellationToken.None, spec);
        // The snapshot holds the chain's tokens as they are: it is keyed under what every version of the chain is keyed under.
        await populations.RecordTokenKeysAsync(versionId, await populations.TokenKeysOfChainAsync(currentVersionId, CancellationToken.None), CancellationToken.None);
        return (versionId, now);
    }

    private async Task CompactAsync(string organizationId, string populationId, string currentVersionId, PopulationData data)
    {
        var records = data.Records;
        var (versionId, now) = await BeginCompactionAsync(organizationId, populationId, currentVersionId);
        PopulationVersion? done = null;
        try
        {
            using var cipher = await keyring.ForOrganizationAsync(organizationId, CancellationToken.None);
            var writer = new SegmentWriter(populations, cipher, versionId, _o.SegmentRecords, time);
            foreach (var record in records) await writer.AddAsync(record, CancellationToken.None);
            await writer.FlushAsync(CancellationToken.None);
            // Its columns are the chain's (same records, same ordinals). Stored with the pending version, a few MiB per short
            // transaction, as an upload's are: they become visible with its commit, and a failure or a crash before it
            // leaves the chain current and the pending version (parts included) to the abandon below or the sweep.
            var parts = new List<VersionPart>();
            long buffered = 0;
            foreach (var part in VersionStore.Seal(cipher, versionId, VersionColumns.Encode(data)))
            {
                parts.Add(part);
                buffered += part.Data.Ciphertext.Length;
                if (buffered >= CompactionFlushBytes && !await StorePartsAsync()) return;
            }
            if (!await StorePartsAsync()) return;
            // Same content, so it only replaces the chain if nothing was committed meanwhile; the commit writes only its rows.
            await using (var uow = await transactions.BeginAsync(CancellationToken.None))
            {
                var committed = await uow.Populations.CommitAsync(versionId, records.Count, now, null, expectedCurrentVersionId: currentVersionId, CancellationToken.None);
                if (committed is null) return;
                await uow.CommitAsync(CancellationToken.None);
                done = committed;
            }

            async Task<bool> StorePartsAsync()
            {
                if (parts.Count == 0) return true;
                if (!await versionColumns.AppendPendingAsync(versionId, parts, time.GetUtcNow(), CancellationToken.None)) return false;
                parts.Clear();
                buffered = 0;
                return true;
            }
            await cache.VersionCommittedAsync(organizationId, populationId, CancellationToken.None);
        }
        finally
        {
            if (done is null) await populations.AbandonAsync(versionId, CancellationToken.None);
        }
    }

    /// <summary>
    /// Builds a snapshot's stored columns as its records are written (<see cref="VersionColumnsBuilder"/>) and stores their
    /// sealed parts with the pending version as they are ready: record blocks while the records arrive in id order, the
    /// rest once every record is in (<see cref="FinishAsync"/>). Parts are written a few MiB at a time, each batch in a
    /// short transaction of its own, and only while the version is pending.
    /// </summary>
    /// <param name="openKeys">The organization's keys as they are at the moment (the blocks read back may have been re-sealed
    /// under a data key newer than <paramref name="cipher"/>'s since the upload began: a rotation re-seals pending parts too).</param>
    private sealed class ColumnPartWriter(IVersionColumnStore store, IOrganizationCipher cipher, string versionId, TimeProvider time, StoreQueue queue,
        Func<CancellationToken, Task<IOrganizationCipher>> openKeys)
    {
        private const int FlushBytes = 4 << 20;
        private readonly VersionColumnsBuilder _builder = new();
        private readonly List<PendingPart> _buffer = [];
        private readonly SealBuffers _sealBuffers = new();
        private long _buffered;
        private int _blocksStored;

        /// <summary>A record as its segment holds it (<see cref="RecordCodec.Write"/>'s bytes).</summary>
        public async Task AddAsync(ReadOnlyMemory<byte> record, CancellationToken ct)
        {
            if (!_builder.AddEncoded(record.Span))
            {
                // The first record out of id order: the blocks stored so far come back, to be built anew with every record.
                await TakeBackAsync(ct);
                if (!_builder.AddEncoded(record.Span)) throw new InvalidOperationException("A record was refused after the blocks came back.");
            }
            foreach (var (part, plaintext) in _builder.TakeReadyBlocks())
            {
                Buffer(Seal(part, plaintext.Span));
                _blocksStored++;
            }
            if (_buffered >= FlushBytes) await FlushAsync(ct);
        }

        /// <summary>
        /// For the duplicate check of a snapshot stored without segments, once, when its ids stop arriving in order: the key of
        /// every id written so far goes into the check's table (<see cref="SeenRecordIds"/>), in the order written. While the
        /// records still arrive in id order (the first id out of order was a duplicate, refused) they stay where they are: the
        /// stored blocks are read back a page at a time for their ids and the builder keeps streaming blocks, so a sorted
        /// upload with a duplicate row costs no more memory than one without. Otherwise they are already kept for the sort.
        /// </summary>
        public async Task ReadBackIdsAsync(SeenRecordIds seen, long idSeed, CancellationToken ct)
        {
            seen.BeginTable();
            try
            {
                if (_builder.InIdOrder)
                {
                    await ForEachStoredRecordAsync(record => seen.AddWrittenKey(RecordIdKey(RecordCodec.RecordIdBytes(record), idSeed)), ct);
                    _builder.ForEachNotHandedOut(record => seen.AddWrittenKey(RecordIdKey(RecordCodec.RecordIdBytes(record), idSeed)));
                }
                else _builder.ForEachKept(record => seen.AddWrittenKey(RecordIdKey(RecordCodec.RecordIdBytes(record), idSeed)));
            }
            catch (InvalidDataException e)
            {
                // Kept records and written ids disagree: the escrow's fault, not the body's (which an InvalidDataException would blame as gzip).
                throw new InvalidOperationException("The records read back do not match the ids written.", e);
            }
            seen.EndTable();
        }

        /// <summary>Blocks read back at once by <see cref="ForEachStoredRecordAsync"/> (256 records each: about 1 MiB of sealed blocks).</summary>
        private const int ReadBackBlocks = 64;

        /// <summary>
        /// Each record of the blocks handed out so far, in order, read back from the store a page of blocks at a time and
        /// opened into one buffer (zeroed after: partner data), the blocks left stored.
        /// </summary>
        private async Task ForEachStoredRecordAsync(VersionColumnsBuilder.EncodedRecordAction record, CancellationToken ct)
        {
            await FlushAsync(ct);
            await queue.DrainAsync();
            using var plaintext = new PlaintextBuffer();
            for (var from = 0; from < _blocksStored; from += ReadBackBlocks)
            {
                var count = Math.Min(ReadBackBlocks, _blocksStored - from);
                var parts = await store.ReadBlocksAsync(versionId, Enumerable.Range(from, count).ToList(), ct);
                // Fewer blocks than were stored: the pending version was swept meanwhile (taken for abandoned), its blocks with it.
                if (parts.Count != count) throw Abandoned();
                // The keys as they are once the page is read: a data-key rotation may have re-sealed it since the upload began.
                using var keys = await openKeys(ct);
                foreach (var part in parts)
                    if (VersionColumnsBuilder.ForEachIn(plaintext.Open(keys, VersionStore.SealLabel, VersionStore.SealId(versionId, part.Part), part.Data), record)
                        != PopulationData.BlockSize)
                        throw new InvalidDataException("A record block read back does not hold a full block of records.");
            }
        }

        /// <summary>The blocks stored so far come back into the builder, which keeps every record from then on (and the stored blocks are removed).</summary>
        private async Task TakeBackAsync(CancellationToken ct)
        {
            await FlushAsync(ct);
            await queue.DrainAsync();
            var stored = await store.ReadBlocksAsync(versionId, Enumerable.Range(0, _blocksStored).ToList(), ct);
            // Fewer blocks than were stored: the pending version was swept meanwhile (taken for abandoned), and its blocks
            // with it. Not applied, and said so (the builder's InvalidDataException would read as a gzip error to the caller).
            if (stored.Count != _blocksStored) throw Abandoned();
            using (var keys = await openKeys(ct))
            {
                try
                {
                    _builder.Restore(stored.Select(b => (ReadOnlyMemory<byte>)keys.Open(VersionStore.SealLabel, VersionStore.SealId(versionId, b.Part), b.Data)));
                }
                catch (InvalidDataException e)
                {
                    // Every block came back yet they hold another count of records: not the caller's body, the escrow's fault.
                    throw new InvalidOperationException("The record blocks read back do not hold the records written.", e);
                }
            }
            if (!await store.RemovePendingBlocksAsync(versionId, ct)) throw Abandoned();
            _blocksStored = 0;
        }

        /// <summary>
        /// Sorts and seals the remaining parts on a worker core while this one stores them: at most a few parts in flight,
        /// never all of them.
        /// </summary>
        public async Task FinishAsync(CancellationToken ct)
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            // Few parts wait here: the store stage's queue holds a few flushes of them too.
            var parts = Channel.CreateBounded<PendingPart>(new BoundedChannelOptions(2) { SingleReader = true, SingleWriter = true });
            var producer = Task.Run(async () =>
            {
                try
                {
                    foreach (var (part, plaintext) in _builder.Build(reuseBuffers: true)) await parts.Writer.WriteAsync(Seal(part, plaintext), stop.Token);
                    parts.Writer.Complete();
                }
                catch (Exception e)
                {
                    parts.Writer.Complete(e);
                }
            }, CancellationToken.None);
            try
            {
                await foreach (var part in parts.Reader.ReadAllAsync(ct))
                {
                    Buffer(part);
                    if (_buffered >= FlushBytes) await FlushAsync(ct);
                }
                await FlushAsync(ct);
            }
            finally
            {
                await stop.CancelAsync();
                await producer;
            }
        }

        private byte[] _smallScratch = [];

        /// <summary>A part sealed into the writer's buffers (<see cref="SealBuffers.SealPart"/>); one thread at a time (the ordered stage, then the finish's worker), so one scratch.</summary>
        private PendingPart Seal(long part, ReadOnlySpan<byte> plaintext) => new(part, _sealBuffers.SealPart(cipher, versionId, part, plaintext, ref _smallScratch));

        private void Buffer(PendingPart part)
        {
            _buffer.Add(part);
            _buffered += part.Data.Ciphertext.Length;
        }

        /// <summary>Hands the parts buffered so far to the store stage (<see cref="StoreQueue"/>), which stores them in one short transaction.</summary>
        private async Task FlushAsync(CancellationToken ct)
        {
            if (_buffer.Count == 0) return;
            var parts = _buffer.ToArray();
            _buffer.Clear();
            _buffered = 0;
            await queue.EnqueueAsync(async token =>
            {
                if (!await store.AppendPendingPartsAsync(versionId, parts, time.GetUtcNow(), token)) throw Abandoned();
                // Stored: their buffers take the next parts.
                foreach (var part in parts) _sealBuffers.Return(part.Data.Ciphertext);
            }, ct);
        }
    }

    /// <summary>
    /// The upload's store stage: its segments and column parts, each already sealed, stored in the order they are handed
    /// in, one at a time (SQLite has one writer), on a thread of its own while the ordered stage checks and adds the records
    /// after them. At most <see cref="Capacity"/> stores wait, so a slow database holds the other stages back instead of
    /// letting sealed parts pile up. A failed store (the version no longer pending, a database error) fails the next hand-in
    /// or <see cref="DrainAsync"/> with its own exception, and nothing is stored after it. <see cref="DisposeAsync"/> stops
    /// the stage and waits for the store in progress, so once it returns nothing more is written for the version.
    /// </summary>
    private sealed class StoreQueue : IAsyncDisposable
    {
        private const int Capacity = 2;
        private readonly CancellationTokenSource _stop;
        private readonly Channel<Func<CancellationToken, Task>> _stores =
            Channel.CreateBounded<Func<CancellationToken, Task>>(new BoundedChannelOptions(Capacity) { SingleReader = true, SingleWriter = true });
        private readonly Task _worker;

        private readonly UploadStageTimes? _times;

        public StoreQueue(CancellationToken ct, UploadStageTimes? times = null)
        {
            _times = times;
            _stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            _worker = Task.Run(RunAsync, CancellationToken.None);
        }

        private async Task RunAsync()
        {
            try
            {
                await foreach (var store in _stores.Reader.ReadAllAsync(_stop.Token))
                {
                    var since = UploadStageTimes.Now();
                    await store(_stop.Token);
                    _times?.Store(since);
                    Interlocked.Decrement(ref _outstanding);
                }
            }
            catch (Exception e)
            {
                // Nothing is stored after a failure: the hand-ins that follow fail with it.
                _stores.Writer.TryComplete(e);
                throw;
            }
        }

        private int _outstanding;

        /// <summary>Nothing handed in is waiting or being stored.</summary>
        public bool IsIdle => Volatile.Read(ref _outstanding) == 0;

        public async ValueTask EnqueueAsync(Func<CancellationToken, Task> store, CancellationToken ct)
        {
            try
            {
                Interlocked.Increment(ref _outstanding);
                await _stores.Writer.WriteAsync(store, ct);
            }
            catch (ChannelClosedException)
            {
                await _worker; // the store that failed, with its own exception
                throw;
            }
        }

        /// <summary>Waits until everything handed in so far is stored; fails as the first failed store did.</summary>
        public async Task DrainAsync()
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await EnqueueAsync(_ => { done.SetResult(); return Task.CompletedTask; }, _stop.Token);
            await Task.WhenAny(done.Task, _worker);
            if (!done.Task.IsCompleted) await _worker;
        }

        public async ValueTask DisposeAsync()
        {
            _stores.Writer.TryComplete();
            await _stop.CancelAsync();
            try { await _worker; } catch { /* reported by the hand-in or drain that met it, or irrelevant after a stop */ }
            _stop.Dispose();
        }
    }

    private static UploadRejectedException Abandoned() => new(409, "Upload not applied",
        "This upload lost its Idempotency-Key to a retry, or sat idle so long it was taken for abandoned; it applied nothing. Retry with the same key.");

    /// <summary>
    /// Buffers encoded records and writes them as encrypted segments of a fixed record count. With a store stage
    /// (<see cref="StoreQueue"/>), the segments sealed while it is busy go to it together, up to a few MiB, as one store
    /// and one transaction (each commit waits for the disk: one segment per commit was about 120 commits per million
    /// records); without one (a compaction) each segment is stored as it is sealed.
    /// </summary>
    private sealed class SegmentWriter(IPopulationRepository populations, IOrganizationCipher cipher, string versionId, int perSegment,
        TimeProvider time, StoreQueue? queue = null, bool countOnly = false)
    {
        /// <summary>
        /// Counts the records added and stores none of them (a snapshot stored as its columns only:
        /// <see cref="UploadOptions.SnapshotSegments"/>), only its marker at the end (<see cref="ColumnsOnlyMarkerId"/>).
        /// </summary>
        public bool CountOnly => countOnly;

        private const int GroupBytes = 4 << 20;
        // Counting only, it never holds more than the few-byte marker: no 1 MiB (a large-object allocation) for that.
        private readonly System.Buffers.ArrayBufferWriter<byte> _buffer = new(countOnly ? 256 : 1 << 20);
        // The buffers segments are sealed into, reused once stored: a few while the store stage stores a group behind the
        // sealing of the next.
        private readonly Stack<byte[]> _sealedFree = new();
        private List<(PendingSegment Segment, byte[] Buffer)> _group = [];
        private long _groupBytes;
        private int _count;
        private long _seq;
        private DateTimeOffset _lastTouch = time.GetUtcNow(); // written by the store stage, read by the ordered one: a stale read only touches once more

        public long Written { get; private set; }

        public async Task AddAsync(EscrowRecord record, CancellationToken ct)
        {
            RecordCodec.Write(_buffer, record);
            _count++;
            Written++;
            if (_count >= perSegment) await SealAsync(ct);
        }

        /// <summary>A record already encoded by <see cref="RecordCodec.Write"/> (on a re-keying thread).</summary>
        public async ValueTask AddEncodedAsync(ReadOnlyMemory<byte> encoded, CancellationToken ct)
        {
            if (countOnly)
            {
                Written++;
                return;
            }
            System.Buffers.BuffersExtensions.Write(_buffer, encoded.Span);
            _count++;
            Written++;
            if (_count >= perSegment) await SealAsync(ct);
        }

        /// <summary>The records added and not sealed yet, encoded one after another (valid until the next add).</summary>
        public ReadOnlyMemory<byte> Unsealed => _buffer.WrittenMemory;

        /// <summary>Hands every segment sealed so far on to be stored (the records not sealed yet stay).</summary>
        public Task StoreSealedAsync(CancellationToken ct) => StoreGroupAsync(ct);

        /// <summary>
        /// Seals the records buffered so far as a segment and hands every sealed segment on to be stored. Counting only, it
        /// stores the snapshot's marker instead, once (<see cref="ColumnsOnlyMarkerId"/>).
        /// </summary>
        public async Task FlushAsync(CancellationToken ct)
        {
            if (countOnly)
            {
                if (Written == 0) return; // an empty snapshot has no records for anything to miss
                await MarkColumnsOnlyAsync(ct);
                return;
            }
            if (_count > 0) Seal();
            await StoreGroupAsync(ct);
        }

        /// <summary>Counting only: stores the snapshot's marker (<see cref="ColumnsOnlyMarkerId"/>), once, whatever was added.</summary>
        public async Task MarkColumnsOnlyAsync(CancellationToken ct)
        {
            if (!countOnly) throw new InvalidOperationException("Only a snapshot stored as its columns only has the marker.");
            if (_marked) return;
            _marked = true;
            RecordCodec.Write(_buffer, EscrowRecord.Deletion(ColumnsOnlyMarkerId));
            Seal(recordCount: 0);
            await StoreGroupAsync(ct);
        }

        private bool _marked;

        private async Task SealAsync(CancellationToken ct)
        {
            Seal();
            // Grouped only while the store stage is busy (its last store still running or waiting): an upload that arrives
            // slower than the disk takes it has each segment stored at once, as it was before groups.
            if (queue is null || queue.IsIdle || _groupBytes >= GroupBytes) await StoreGroupAsync(ct);
        }

        private void Seal(int? recordCount = null)
        {
            // Sealed into buffers reused for the segments after it (once stored): a fresh array per segment was about 0.8 MB
            // of large-object heap per 8,192 records, each left for a full collection.
            var length = _buffer.WrittenCount + IOrganizationCipher.Overhead;
            byte[]? destination;
            lock (_sealedFree) _sealedFree.TryPop(out destination);
            if (destination is null || destination.Length < length) destination = new byte[length + length / 8];
            var sealedSegment = cipher.SealSegment(versionId, _seq, _buffer.WrittenSpan, destination);
            _group.Add((new PendingSegment(_seq, recordCount ?? _count, sealedSegment), destination));
            _groupBytes += sealedSegment.Ciphertext.Length;
            _seq++;
            _count = 0;
            _buffer.ResetWrittenCount();
        }

        private async Task StoreGroupAsync(CancellationToken ct)
        {
            if (_group.Count == 0) return;
            var group = _group;
            (_group, _groupBytes) = ([], 0);
            if (queue is null) await StoreAsync(ct);
            else await queue.EnqueueAsync(StoreAsync, ct);

            async Task StoreAsync(CancellationToken token)
            {
                if (!await populations.AppendSegmentsAsync(versionId, group.Select(g => g.Segment).ToList(), time.GetUtcNow(), token)) throw Abandoned();
                _lastTouch = time.GetUtcNow();
                lock (_sealedFree)
                    foreach (var (_, buffer) in group) _sealedFree.Push(buffer);
            }
        }

        /// <summary>Keeps a slow upload alive between segments (at most once a minute), so the sweeper leaves it alone.</summary>
        public async Task KeepAliveAsync(CancellationToken ct)
        {
            if (time.GetUtcNow() - _lastTouch < TimeSpan.FromMinutes(1)) return;
            if (!await populations.TouchAsync(versionId, time.GetUtcNow(), ct)) throw Abandoned();
            _lastTouch = time.GetUtcNow();
        }
    }
}

/// <summary>
/// Detects a truncated gzip body. .NET's GZipStream returns end-of-stream when the compressed input simply stops,
/// without error, so a cut-off file would be committed as a partial snapshot. RFC 1952 §2.3.1 ends a member with
/// ISIZE, the uncompressed length modulo 2^32: this keeps the last 8 bytes read and compares. A single gzip member
/// is expected (what gzip, pigz and HTTP clients produce); concatenated members fail the check.
/// </summary>
internal sealed class GzipTrailerCheck(Stream inner) : ReadObserverStream(inner)
{
    private readonly byte[] _tail = new byte[8];

    protected override void Observe(ReadOnlySpan<byte> read)
    {
        if (read.Length >= 8) read[^8..].CopyTo(_tail);
        else if (read.Length > 0)
        {
            _tail.AsSpan(read.Length).CopyTo(_tail);
            read.CopyTo(_tail.AsSpan(8 - read.Length));
        }
    }

    public void Verify(long decompressedLength)
    {
        var isize = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(_tail.AsSpan(4));
        if (Position < 18 || isize != (uint)decompressedLength)
            throw new UploadRejectedException(400, "The gzip body is truncated",
                "The gzip body ends before its trailer (or holds several gzip members); nothing was applied.");
    }
}

/// <summary>Fails a read past a byte limit, so neither a large body nor a gzip bomb is read beyond what is allowed.</summary>
internal sealed class LimitedStream(Stream inner, long limit, string what) : ReadObserverStream(inner)
{
    protected override void Observe(ReadOnlySpan<byte> read)
    {
        if (Position > limit) throw new UploadRejectedException(413, "The upload is too large", $"The {what} is larger than {limit} bytes; nothing was applied.");
    }
}

/// <summary>A forward-only read stream over another that counts the bytes read and lets a subclass look at them.</summary>
internal abstract class ReadObserverStream(Stream inner) : Stream
{
    private long _read;

    protected abstract void Observe(ReadOnlySpan<byte> read);

    public override int Read(byte[] buffer, int offset, int count) => Seen(buffer.AsSpan(offset, inner.Read(buffer, offset, count)));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        var n = await inner.ReadAsync(buffer, ct);
        return Seen(buffer.Span[..n]);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

    private int Seen(ReadOnlySpan<byte> read)
    {
        _read += read.Length;
        Observe(read);
        return read.Length;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _read; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
