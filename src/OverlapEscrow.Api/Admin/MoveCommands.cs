using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Options;
using OverlapEscrow.Api.Extensions;
using OverlapEscrow.Application.Audit;
using OverlapEscrow.Application.Maintenance;

namespace OverlapEscrow.Api.Admin;

/// <summary>
/// Moving an SQLite escrow into PostgreSQL (docs/operations.md, "Moving to PostgreSQL"): <c>copy-to-postgres</c> copies
/// a snapshot of the running database into an empty PostgreSQL database and verifies the copy; <c>verify-copy</c>
/// verifies again against a fresh snapshot. The target's connection string is never printed (it may hold a password).
/// </summary>
public static partial class AdminCommand
{
    private static (Option<string?> Env, Option<string?> Literal) TargetOptions() =>
        (new Option<string?>("--to-env") { Description = "The environment variable that holds the target's Npgsql connection string (recommended: it stays out of the process list)." },
         new Option<string?>("--to") { Description = "The target's Npgsql connection string itself (a password in it shows in the process list; prefer --to-env or a Passfile)." });

    /// <summary>The connection string the options name, or the problem (never quoting the string).</summary>
    private static (string? Target, string? Problem) Target(ParseResult parse, Option<string?> env, Option<string?> literal)
    {
        var name = parse.GetValue(env);
        var given = parse.GetValue(literal);
        if ((name is null) == (given is null)) return (null, "name the target with --to-env <variable> or --to <connection string> (one of them).");
        var target = name is not null ? Environment.GetEnvironmentVariable(name) : given;
        if (string.IsNullOrWhiteSpace(target)) return (null, $"the environment variable {name} is not set.");
        if (StorageExtensions.PostgresConnectionStringProblem(target) is { } problem) return (null, "the target's connection string " + problem);
        return (target, null);
    }

    private static Command CopyToPostgres(Context c)
    {
        var (env, literal) = TargetOptions();
        var command = new Command("copy-to-postgres",
            "Copy a snapshot of this SQLite escrow (the service may keep running; later writes are not copied) into an empty PostgreSQL database, in one transaction, then verify the copy.")
            { env, literal };
        command.SetAction((parse, ct) =>
        {
            var (target, problem) = Target(parse, env, literal);
            if (problem is not null) return Task.FromResult(c.Fail(problem));
            return c.RunAsync(true, async services =>
            {
                var escrow = services.GetRequiredService<IOptions<EscrowOptions>>().Value;
                if (escrow.Database.IsPostgres) return c.Fail("this escrow already runs on PostgreSQL (Escrow:Database:Provider); the copy starts from its SQLite file.");
                var move = services.GetRequiredService<PostgresMove>();
                c.Out.WriteLine($"target: {move.DescribeTarget(target!)}");
                var contents = await move.TargetContentsAsync(target!, ct);
                if (contents.Count > 0) return c.Fail(PostgresMove.NotEmpty(contents));

                foreach (var leftover in move.RemoveLeftoverSnapshots())
                    c.Out.WriteLine($"deleted {leftover}: a snapshot an interrupted run left (a copy of the whole database)");
                using var snapshot = await move.SnapshotAsync(ct);
                c.Out.WriteLine($"snapshot: the database as of {snapshot.TakenAt:yyyy-MM-dd HH:mm:ss}Z ({N(snapshot.Bytes)} bytes); writes after it are not copied");
                var started = Stopwatch.GetTimestamp();
                IReadOnlyList<Application.Storage.TableCopied> copied;
                try
                {
                    copied = await move.CopyAsync(snapshot, target!, t => c.Out.WriteLine($"copied {t.Table}: {N(t.Rows)} rows"), ct);
                }
                catch (OperationCanceledException)
                {
                    return c.Fail("cancelled; the copy is one transaction, so the target is as empty as it was: run the command again.");
                }
                using (var process = Process.GetCurrentProcess())
                    c.Out.WriteLine($"copied {copied.Count} tables, {N(copied.Sum(t => t.Rows))} rows in {Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s, in one transaction " +
                        $"(peak working set {process.PeakWorkingSet64 / (1024 * 1024)} MiB)");
                return await VerifyAsync(c, escrow, move, snapshot, target!, ct);
            }, ct);
        });
        return command;
    }

    private static Command VerifyCopy(Context c)
    {
        var (env, literal) = TargetOptions();
        var command = new Command("verify-copy",
            "Compare a fresh snapshot of this SQLite escrow with its copy in PostgreSQL: every table's rows and digest, the audit chain on PostgreSQL, every partnership's matrix from each side.")
            { env, literal };
        command.SetAction((parse, ct) =>
        {
            var (target, problem) = Target(parse, env, literal);
            if (problem is not null) return Task.FromResult(c.Fail(problem));
            return c.RunAsync(true, async services =>
            {
                var escrow = services.GetRequiredService<IOptions<EscrowOptions>>().Value;
                if (escrow.Database.IsPostgres) return c.Fail("Escrow:Database:Provider is postgres: run verify-copy with the SQLite escrow's configuration, naming the copy with --to-env.");
                var move = services.GetRequiredService<PostgresMove>();
                c.Out.WriteLine($"target: {move.DescribeTarget(target!)}");
                foreach (var leftover in move.RemoveLeftoverSnapshots())
                    c.Out.WriteLine($"deleted {leftover}: a snapshot an interrupted run left (a copy of the whole database)");
                using var snapshot = await move.SnapshotAsync(ct);
                c.Out.WriteLine($"snapshot: the database as of {snapshot.TakenAt:yyyy-MM-dd HH:mm:ss}Z ({N(snapshot.Bytes)} bytes)");
                return await VerifyAsync(c, escrow, move, snapshot, target!, ct);
            }, ct);
        });
        return command;
    }

    /// <summary>
    /// The tables first, then the audit log on the target, then every matrix on both sides. Every difference is printed;
    /// any fails.
    /// </summary>
    private static async Task<int> VerifyAsync(Context c, EscrowOptions escrow, PostgresMove move, MoveSnapshot snapshot, string target, CancellationToken ct)
    {
        var secrets = new Dictionary<string, string?>
        {
            ["Escrow:SecretsDirectory"] = Path.GetFullPath(escrow.SecretsPath), ["Escrow:KeyringDirectory"] = Path.GetFullPath(escrow.KeyringPath),
        };
        using var onTarget = c.Build(new Dictionary<string, string?>(secrets) { ["Escrow:Database:Provider"] = "postgres", ["Escrow:Database:ConnectionString"] = target });
        using var onSnapshot = c.Build(new Dictionary<string, string?>(secrets)
        {
            ["Escrow:DataDirectory"] = snapshot.Directory, ["Escrow:Database:Provider"] = "sqlite", ["Escrow:Database:ConnectionString"] = null,
        });

        // Each organization's audit chain is indexed from the log as events arrive, and the audit check below indexes what is
        // not yet: both sides are brought up to their log first (the same events give the same chains), so the tables
        // compare equal whether or not a check ran on either side before.
        await onSnapshot.Services.GetRequiredService<AuditViews>().CatchUpAsync(ct);
        await onTarget.Services.GetRequiredService<AuditViews>().CatchUpAsync(ct);

        var failures = new List<string>();
        var tables = await move.CompareTablesAsync(snapshot, target, ct);
        foreach (var t in tables)
            c.Out.WriteLine(t.Same
                ? $"verify {t.Table}: {N(t.SourceRows!.Value)} rows on both sides, same digest"
                : $"verify {t.Table}: DIFFERENT ({Rows(t.SourceRows)} in SQLite, {Rows(t.TargetRows)} in PostgreSQL{(t.SourceRows == t.TargetRows ? ", different content" : "")})");
        var differing = tables.Where(t => !t.Same).Select(t => t.Table).ToList();
        if (differing.Count > 0) failures.Add("tables that differ: " + string.Join(", ", differing));
        else c.Out.WriteLine($"verify: all {tables.Count} tables hold the same rows on both sides");

        var audit = await onTarget.Services.GetRequiredService<AuditTrail>().VerifyLogAsync([], ct);
        c.Out.WriteLine($"verify audit log on PostgreSQL: {N(audit.EventCount)} events, head {Convert.ToHexStringLower(audit.HeadHash)}, {audit.CheckpointsChecked} checkpoints checked");
        foreach (var p in audit.Problems) c.Out.WriteLine("verify audit log: problem: " + p);
        if (!audit.Valid) failures.Add("the audit log does not verify on PostgreSQL");

        var before = (await onSnapshot.Services.GetRequiredService<MatrixFingerprints>().ComputeAsync(ct)).ToDictionary(Key);
        var after = (await onTarget.Services.GetRequiredService<MatrixFingerprints>().ComputeAsync(ct)).ToDictionary(Key);
        var wrong = before.Keys.Union(after.Keys).Order(StringComparer.Ordinal)
            .Where(k => !before.TryGetValue(k, out var b) || !after.TryGetValue(k, out var a) || b != a).ToList();
        foreach (var k in wrong.Take(20))
            c.Out.WriteLine($"verify matrix: DIFFERENT cell {k}: {Cell(before.GetValueOrDefault(k))} in SQLite, {Cell(after.GetValueOrDefault(k))} in PostgreSQL");
        var partnerships = before.Values.Select(v => v.PartnershipId).Distinct().Count();
        if (wrong.Count > 0) failures.Add($"{wrong.Count} matrix cells differ");
        else c.Out.WriteLine($"verify matrices: {partnerships} active partnerships, {before.Count} cells from each side's view, all equal");

        if (failures.Count > 0) return c.Fail("the copy does not verify: " + string.Join("; ", failures) + ".");
        c.Out.WriteLine("the copy verifies");
        return Ok;

        static string Key(CellFingerprint f) => $"{f.PartnershipId} {f.ViewerOrganizationId} {f.PopulationId}×{f.PartnerPopulationId}";
        static string Cell(CellFingerprint? f) => f is null ? "absent" : $"{f.Count} records ({f.Pairs} pairs)";
        static string Rows(long? rows) => rows is { } r ? N(r) + " rows" : "no table";
    }

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
