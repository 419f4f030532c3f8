using System.CommandLine;
using OverlapEscrow.Client.Upload;

namespace OverlapEscrow.Cli.Commands;

/// <summary>
/// Everything one upload needs, from the command line (`upload`) or a saved configuration (`sync`).
/// <paramref name="ScheduleId"/>, when set, is sent with the upload as X-Sync-Schedule.
/// </summary>
internal sealed record UploadJob(Uri Server, string ApiKey, string Population, string? CreateType, string Path, AccountColumns Columns,
    UploadMode Mode, string? IdempotencyKey = null, string? ScheduleId = null)
{
    /// <summary>How the user asks for the population to be created, for the error when it does not exist.</summary>
    public string CreateHint { get; init; } = "--create TYPE";
}

/// <summary>
/// `upload`: reads a CRM export, normalizes and hashes every account on this machine, and uploads the hashes
/// and the named attribute columns as one population snapshot (or delta), gzip-compressed and retry-safe.
/// </summary>
internal static class UploadCommand
{
    public static readonly string[] PopulationTypes = ["customers", "prospects", "opportunities", "partners", "custom"];

    public static Command Create(CliEnvironment env)
    {
        var account = new AccountOptions();
        var server = new ServerOptions();
        var population = new Option<string>("--population", "-p") { Description = "The population to replace (snapshot) or update (delta): its id (pop_…) or its exact name.", Required = true };
        var mode = new Option<string>("--mode")
        {
            Description = "snapshot: the population becomes exactly this file's accounts; delta: the file's accounts are added or updated, others stay.",
            DefaultValueFactory = _ => "snapshot",
        };
        mode.AcceptOnlyFromAmong("snapshot", "delta");
        var idempotencyKey = new Option<string?>("--idempotency-key")
        {
            Description = "Makes a re-run of the same upload safe: the escrow applies one upload per key. Default: a new key per run (retries within the run always reuse it).",
        };
        var create = new Option<string?>("--create")
        {
            Description = "Create the population with this type when none has that name: customers, prospects, opportunities, partners or custom.",
        };
        create.AcceptOnlyFromAmong(PopulationTypes);

        var command = new Command("upload", "Hash a CRM export locally and upload the hashes and the named attributes to a population.");
        server.AddTo(command);
        command.Add(population);
        account.AddTo(command);
        command.Add(mode);
        command.Add(idempotencyKey);
        command.Add(create);
        command.SetAction((parse, ct) => CliApp.GuardAsync(env, async () =>
        {
            var (path, columns) = account.Read(parse);
            var (url, apiKey) = server.Read(parse, env);
            var key = parse.GetValue(idempotencyKey);
            if (key is not null && !EscrowClient.IsValidIdempotencyKey(key))
                throw new UsageException("--idempotency-key is 1–255 visible ASCII characters (no spaces).");
            var uploadMode = parse.GetValue(mode) == "delta" ? UploadMode.Delta : UploadMode.Snapshot;
            return await RunAsync(env, new UploadJob(url, apiKey, parse.GetValue(population)!.Trim(), parse.GetValue(create), path, columns, uploadMode, key), ct);
        }));
        return command;
    }

    /// <summary>The upload itself, shared by `upload` and `sync`: checks the columns, finds or creates the population, uploads, prints the summary.</summary>
    public static async Task<int> RunAsync(CliEnvironment env, UploadJob job, CancellationToken ct)
    {
        // A wrong column name is found before anything is sent.
        await AccountExport.CheckColumnsAsync(job.Path, job.Columns, ct);

        using var http = env.CreateHttpClient(job.Server, job.ScheduleId is null ? [] : [new SyncScheduleHeader(job.ScheduleId)]);
        Action<string> say = message => env.Error.WriteLine(message);
        env.ClientOptions.OnRetry = notice => say($"warning: attempt {notice.FailedAttempt} of {notice.MaxAttempts} failed ({notice.Reason}); retrying in {notice.Delay.TotalSeconds:0.#} s with the same Idempotency-Key.");
        var client = new EscrowClient(http, job.ApiKey, env.ClientOptions);

        var population = await client.ResolvePopulationAsync(job.Population, ct);
        if (population is null)
        {
            if (job.CreateType is null)
            {
                var names = (await client.GetPopulationsAsync(ct)).Select(p => $"\"{p.Name}\"").ToList();
                throw new CliFailure($"your organization has no population \"{job.Population}\" ({(names.Count == 0 ? "it has none yet" : "it has " + string.Join(", ", names))}); " +
                                     $"create it with {job.CreateHint}, or POST /v1/populations.");
            }
            population = await client.CreatePopulationAsync(job.Population, job.CreateType, ct);
            env.Error.WriteLine($"created population \"{population.Name}\" ({population.Id}, {population.Type}); it stays hidden from partners until you share it.");
        }

        // An opportunities population's documented fields are written in their wire forms (docs/health.md).
        var columns = job.Columns with { Opportunities = population.Type == "opportunities" };

        // Each attempt writes the body anew from the file; the writer of the latest attempt holds the map from
        // upload lines back to CSV rows, the last complete one the counts. An upload the escrow answers from an
        // earlier completed one with the same Idempotency-Key may not read the body at all.
        UploadRowWriter? writer = null;
        UploadRowWriter? completed = null;
        UploadResult result;
        try
        {
            result = await Reporting.WithProgressAsync(env, job.Path, "Uploading", async (progress, sayDuringProgress) =>
            {
                say = sayDuringProgress;
                return await client.UploadAsync(population.Id, job.Mode, async (stream, token) =>
                {
                    var attempt = writer = new UploadRowWriter(stream);
                    await AccountExport.WriteNdjsonAsync(job.Path, columns, attempt, progress, token);
                    completed = attempt;
                }, job.IdempotencyKey, ct);
            });
        }
        catch (EscrowApiException e) when (e.Status is not (401 or 403))
        {
            var current = writer;
            var message = e.Describe(line => current?.SourceRow(line) is { } row ? $"CSV row {row}" : $"upload line {line}");
            throw new CliFailure($"the escrow refused the upload to \"{population.Name}\": {message}");
        }

        if (completed is not null) Reporting.WriteSummary(env.Out, job.Path, completed.Stats);
        env.Out.WriteLine($"uploaded to:      \"{population.Name}\" ({population.Id}), {(job.Mode == UploadMode.Snapshot ? "snapshot" : "delta")}" +
                          (result.Replayed ? " (already committed by an earlier run with this Idempotency-Key; its result follows)" : ""));
        env.Out.WriteLine($"version:          {result.VersionId}");
        env.Out.WriteLine($"server:           {result.RowsRead:N0} rows read, {result.RecordsApplied:N0} applied, {result.RowsRejected:N0} rejected");
        env.Out.WriteLine($"record count:     {(result.RecordCount is { } count ? count.ToString("N0") : "not known (the escrow could not count the delta after its commit: a snapshot committed right after it, say; see the population)")}");
        if (!result.Replayed && completed is not null && result.RowsRead != completed.Stats.RowsWritten)
            env.Error.WriteLine($"warning: {completed.Stats.RowsWritten:N0} rows were sent but the escrow read {result.RowsRead:N0}.");
        return CliApp.Ok;
    }
}
