using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using OverlapEscrow.Api.Extensions;
using OverlapEscrow.Api.Hosting;
using OverlapEscrow.Application.Accounts;
using OverlapEscrow.Application.Audit;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Maintenance;
using OverlapEscrow.Application.Organizations;
using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Api.Admin;

/// <summary>
/// The operator's command line, a subcommand of the service (<c>dotnet OverlapEscrow.Api.dll admin …</c>) so that it
/// reads exactly the configuration the service reads (appsettings.json, Escrow__* environment variables) and runs the
/// same use cases. Every command works with the service stopped or running, except <c>restore</c>, which replaces the
/// database file and so refuses while any instance holds it. Output is plain lines; a failure is one "error: …" line
/// on standard error and exit code 1 (2 for wrong arguments). See docs/operations.md.
/// </summary>
public static partial class AdminCommand
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Usage = 2;

    public static bool Matches(string[] args) => args.Length > 0 && args[0] == "admin";

    /// <param name="settings">Configuration that overrides the files and environment (tests).</param>
    public static async Task<int> RunAsync(string[] args, TextWriter? output = null, TextWriter? error = null,
        IReadOnlyDictionary<string, string?>? settings = null, CancellationToken ct = default)
    {
        var outWriter = output ?? Console.Out;
        var errWriter = error ?? Console.Error;
        var context = new Context(outWriter, errWriter, settings);
        var root = new RootCommand("OverlapEscrow operator commands: backup, restore, keys, audit, organization erasure, moving to PostgreSQL (docs/operations.md).")
        {
            Backup(context), Restore(context), Keys(context), AuditCommands(context), Organization(context), SignupCode(context),
            CopyToPostgres(context), VerifyCopy(context),
        };
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            errWriter.WriteLine("error: " + string.Join("; ", parse.Errors.Select(e => e.Message.TrimEnd('.')).Distinct()) + " (see admin --help)");
            return Usage;
        }
        return await parse.InvokeAsync(new InvocationConfiguration { Output = outWriter, Error = errWriter, EnableDefaultExceptionHandler = false }, ct);
    }

    private sealed class Context(TextWriter output, TextWriter error, IReadOnlyDictionary<string, string?>? settings)
    {
        public TextWriter Out => output;
        public TextWriter Error => error;

        /// <summary>Runs one command with the escrow's services; <paramref name="prepare"/>: migrations, the keyring move and unfinished erasures first.</summary>
        public async Task<int> RunAsync(bool prepare, Func<IServiceProvider, Task<int>> work, CancellationToken ct)
        {
            try
            {
                using var host = Build(null);
                var services = host.Services;
                if (prepare)
                    await StartupTasks.PrepareAsync(services, services.GetRequiredService<IStorageMigrations>(),
                        services.GetRequiredService<ILoggerFactory>().CreateLogger("OverlapEscrow.Admin"), ct);
                return await work(services);
            }
            catch (OperationCanceledException)
            {
                error.WriteLine("error: cancelled; what was done so far stays done, and running the command again resumes.");
                return Failed;
            }
            catch (Exception e)
            {
                error.WriteLine("error: " + Describe(e));
                return Failed;
            }
        }

        /// <summary>
        /// The escrow's services as the configuration gives them, with <paramref name="overrides"/> on top (a second set of
        /// services over another database, for a move). Runs nothing: no migration, no background service.
        /// </summary>
        public IHost Build(IReadOnlyDictionary<string, string?>? overrides)
        {
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory, Args = [] });
            if (settings is not null) builder.Configuration.AddInMemoryCollection(settings);
            if (overrides is not null) builder.Configuration.AddInMemoryCollection(overrides);
            builder.Logging.ClearProviders();
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
            builder.Logging.AddFilter("Microsoft", LogLevel.Error);
            builder.AddEscrowAdmin();
            return builder.Build();
        }

        public int Fail(string message)
        {
            error.WriteLine("error: " + message);
            return Failed;
        }

        private static string Describe(Exception e) => e switch
        {
            _ when e.Message.Contains("disk is full", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase)
                => $"the disk is full ({e.Message}); nothing partial was kept, and running the command again once there is space resumes it.",
            IOException or UnauthorizedAccessException or InvalidDataException or InvalidOperationException or FileNotFoundException => e.Message,
            _ => $"{e.GetType().Name}: {e.Message}",
        };
    }

    private static Command Backup(Context c)
    {
        var file = new Argument<string>("file") { Description = "Where to write the backup (must not exist)." };
        var command = new Command("backup", "Take a consistent online backup of the database (the service may keep running). The keyring is never in it.") { file };
        command.SetAction((parse, ct) => c.RunAsync(false, async services =>
        {
            var result = await services.GetRequiredService<Backups>().BackupAsync(parse.GetValue(file)!, ct);
            c.Out.WriteLine($"backup: {result.Path} ({result.Bytes.ToString("N0", CultureInfo.InvariantCulture)} bytes, {result.Took.TotalMilliseconds:0} ms, sha256 {result.Sha256})");
            c.Out.WriteLine($"manifest: {result.Path}.json");
            return Ok;
        }, ct));
        return command;
    }

    private static Command Restore(Context c)
    {
        var file = new Argument<string>("file") { Description = "A backup written by `admin backup`." };
        var command = new Command("restore", "Replace the database with a backup (stop every instance of the service first). Organizations erased since the backup are erased again.") { file };
        command.SetAction((parse, ct) => c.RunAsync(false, async services =>
        {
            var result = await services.GetRequiredService<Backups>().RestoreAsync(parse.GetValue(file)!, ct);
            c.Out.WriteLine($"restored: {result.From}");
            c.Out.WriteLine($"the replaced database is kept at {result.ReplacedKeptAt} (delete it once the restore is confirmed)");
            await StartupTasks.PrepareAsync(services, services.GetRequiredService<IStorageMigrations>(),
                services.GetRequiredService<ILoggerFactory>().CreateLogger("OverlapEscrow.Admin"), ct);
            var status = await services.GetRequiredService<KeyAdministration>().StatusAsync(ct, findUnreadable: true);
            c.Out.WriteLine($"organizations erased since the backup are erased again; keyring: {status.Erased.Count} erased, {status.OrganizationsWithoutKey.Count} without a key");
            if (status.Unreadable.Count == 0) return Ok;
            // A backup older than a finished data-key rotation: the values sealed under the destroyed key are lost for good.
            foreach (var u in status.Unreadable)
                c.Error.WriteLine($"error: {u.OrganizationId} has {u.Values} values sealed under data-key versions {string.Join(", ", u.MissingKeyVersions)}, " +
                                  "which its keyring no longer holds (the backup is older than a finished data-key rotation): they cannot be read");
            c.Error.WriteLine("error: restore a backup taken after the rotation, or see docs/operations.md, \"Key rotation\", for what the organization must send again");
            return Failed;
        }, ct));
        return command;
    }

    private static Command Keys(Context c)
    {
        var keys = new Command("keys", "The escrow's keys and the organizations' data keys.");

        var status = new Command("status", "Key versions, data keys per master key version, interrupted rotations, erased organizations.");
        status.SetAction((_, ct) => c.RunAsync(true, async services =>
        {
            var s = await services.GetRequiredService<KeyAdministration>().StatusAsync(ct, findUnreadable: true);
            foreach (var k in s.EscrowKeys)
                c.Out.WriteLine($"{Name(k.Kind)} v{k.Version}{(k.Current ? (k.Kind == SecretKind.Token ? " (keys uploads)" : " (current)") : "")}  created {k.CreatedAt:u}");
            c.Out.WriteLine($"audit signing key: {s.SigningKeyId}{(s.RetiredSigningKeyIds.Count == 0 ? "" : $"; retired, still published: {string.Join(", ", s.RetiredSigningKeyIds)}")}");
            foreach (var (version, count) in s.OrganizationsByMasterKeyVersion.OrderBy(x => x.Key)) c.Out.WriteLine($"data keys wrapped by master v{version}: {count} organizations");
            c.Out.WriteLine($"interrupted data-key rotations: {s.InterruptedRotations.Count}{List(s.InterruptedRotations)}");
            c.Out.WriteLine($"erased organizations: {s.Erased.Count}");
            c.Out.WriteLine($"organizations without a data key: {s.OrganizationsWithoutKey.Count}{List(s.OrganizationsWithoutKey)}");
            c.Out.WriteLine($"keys without an organization: {s.KeysWithoutOrganization.Count}{List(s.KeysWithoutOrganization)}");
            c.Out.WriteLine($"organizations with values under a destroyed data key: {s.Unreadable.Count}" +
                            string.Concat(s.Unreadable.Select(u => $"\n  {u.OrganizationId}: {u.Values} values under v{string.Join(", v", u.MissingKeyVersions)}")));
            return s.Unreadable.Count == 0 ? Ok : Failed;
        }, ct));
        keys.Add(status);

        var resumeMaster = new Option<bool>("--resume") { Description = "Do not create a new version: re-wrap what is not yet under the newest one." };
        var rotateMaster = new Command("rotate-master", "Create the next master key version and re-wrap every data key under it.") { resumeMaster };
        rotateMaster.SetAction((parse, ct) => c.RunAsync(true, services =>
        {
            var (version, rewrapped) = services.GetRequiredService<KeyAdministration>().RotateMasterKey(parse.GetValue(resumeMaster));
            c.Out.WriteLine($"master key v{version} is current; {rewrapped} data keys re-wrapped. Retire the old version with `admin keys retire-master <version>`.");
            return Task.FromResult(Ok);
        }, ct));
        keys.Add(rotateMaster);

        keys.Add(Retire(c, "retire-master", "Destroy an old master key version once no data key is wrapped by it.", (services, version, ct) =>
            services.GetRequiredService<KeyAdministration>().RetireMasterKeyAsync(version, ct)));

        var organization = new Option<string?>("--organization") { Description = "The organization (id or slug) whose data key to rotate." };
        var all = new Option<bool>("--all") { Description = "Every organization, one after another." };
        var resume = new Option<bool>("--resume") { Description = "Finish every interrupted rotation." };
        var batch = new Option<int>("--batch") { Description = "Values re-sealed per database round trip.", DefaultValueFactory = _ => 256 };
        var pace = new Option<int>("--pace") { Description = "Milliseconds to pause after each batch, to spare a busy machine.", DefaultValueFactory = _ => 0 };
        var settle = new Option<int>("--settle") { Description = "Seconds to wait before destroying the old key, for writers in flight.", DefaultValueFactory = _ => 5 };
        var rotateData = new Command("rotate-data", "Rotate data keys: a new key seals from now on, every stored value is re-sealed in the background, the old key is destroyed at the end. Resumable.")
            { organization, all, resume, batch, pace, settle };
        rotateData.SetAction((parse, ct) => c.RunAsync(true, async services =>
        {
            var rotation = services.GetRequiredService<DataKeyRotation>();
            var targets = new List<string>();
            if (parse.GetValue(resume)) targets.AddRange(rotation.Interrupted());
            if (parse.GetValue(all)) targets.AddRange(await services.GetRequiredService<IOrganizationErasureStore>().ListOrganizationIdsAsync(ct));
            if (parse.GetValue(organization) is { } named)
                targets.Add(await ResolveAsync(services, named, ct) ?? throw new InvalidOperationException($"No organization has the id or slug \"{named}\"."));
            if (targets.Count == 0)
            {
                c.Out.WriteLine(parse.GetValue(resume) ? "no interrupted rotation" : "name --organization, --all or --resume");
                return parse.GetValue(resume) ? Ok : Usage;
            }
            var options = new DataKeyRotationOptions(Math.Max(1, parse.GetValue(batch)), TimeSpan.FromMilliseconds(Math.Max(0, parse.GetValue(pace))),
                TimeSpan.FromSeconds(Math.Max(0, parse.GetValue(settle))));
            foreach (var id in targets.Distinct())
            {
                var r = await rotation.RotateAsync(id, options with { Progress = n => c.Out.WriteLine($"{id}: {n} values re-sealed") }, ct);
                c.Out.WriteLine($"{id}: data key v{r.ToVersion} current; {r.Resealed} values re-sealed; destroyed {r.DestroyedKeyIds.Count} old keys{List(r.DestroyedKeyIds)}");
            }
            return Ok;
        }, ct));
        keys.Add(rotateData);

        var rotateSigning = new Command("rotate-signing", "Create the next access-token signing key (a new kid); tokens signed with the old one stay valid until they expire.");
        rotateSigning.SetAction((_, ct) => c.RunAsync(true, services =>
        {
            var key = services.GetRequiredService<KeyAdministration>().RotateSigningKey();
            c.Out.WriteLine($"access-token signing key v{key.Version} (kid escrow-{key.Version}) signs from now on (running instances pick it up within {EscrowSecrets.RescanInterval.TotalSeconds:0} s)");
            return Task.FromResult(Ok);
        }, ct));
        keys.Add(rotateSigning);
        keys.Add(Retire(c, "retire-signing", "Destroy an old access-token signing key once every token it signed has expired.", (services, version, _) =>
            Task.FromResult(services.GetRequiredService<KeyAdministration>().RetireSigningKey(version,
                TimeSpan.FromMinutes(services.GetRequiredService<IOptions<EscrowOptions>>().Value.AccessTokenMinutes)))));

        var rotateAudit = new Command("rotate-audit-signing", "Create the next audit signing key: it signs checkpoints and deletion receipts from now on; the older keys stay published.");
        rotateAudit.SetAction((_, ct) => c.RunAsync(true, services =>
        {
            var key = services.GetRequiredService<KeyAdministration>().RotateAuditSigningKey();
            c.Out.WriteLine($"audit signing key v{key.Version} ({key.KeyId}) signs from now on (running instances pick it up within {EscrowSecrets.RescanInterval.TotalSeconds:0} s); " +
                            "the older keys stay in /.well-known/overlap-escrow-keys.json");
            return Task.FromResult(Ok);
        }, ct));
        keys.Add(rotateAudit);
        keys.Add(Retire(c, "retire-audit-signing", "Destroy an old audit signing key (say one that may have leaked); its public key stays published, so what it signed still verifies.",
            (services, version, _) => Task.FromResult(services.GetRequiredService<KeyAdministration>().RetireAuditSigningKey(version))));

        var addToken = new Command("add-token-key", "Start a token-key change: every upload is keyed under both keys until the old one is retired (docs/operations.md).");
        addToken.SetAction((_, ct) => c.RunAsync(true, services =>
        {
            var key = services.GetRequiredService<KeyAdministration>().AddTokenKey();
            c.Out.WriteLine($"token key v{key.Version} added: uploads are keyed under every token key present; ask every partner to upload again, then `admin keys retire-token-key <old version>`");
            return Task.FromResult(Ok);
        }, ct));
        keys.Add(addToken);
        keys.Add(Retire(c, "retire-token-key", "End a token-key change: destroy the old token key once every population was uploaded under the new one.", (services, version, ct) =>
            services.GetRequiredService<KeyAdministration>().RetireTokenKeyAsync(version, ct)));
        return keys;
    }

    private static Command Retire(Context c, string name, string description, Func<IServiceProvider, int, CancellationToken, Task<Application.Outcome<int>>> retire)
    {
        var version = new Argument<int>("version") { Description = "The version to destroy." };
        var command = new Command(name, description) { version };
        command.SetAction((parse, ct) => c.RunAsync(true, async services =>
        {
            var outcome = await retire(services, parse.GetValue(version), ct);
            if (outcome.Failure is { } failure) return c.Fail(failure.Detail);
            c.Out.WriteLine($"version {outcome.Value} destroyed");
            return Ok;
        }, ct));
        return command;
    }

    private static Command AuditCommands(Context c)
    {
        var audit = new Command("audit", "The audit log's hash chains and signed checkpoints.");

        var kept = new Option<string?>("--checkpoints") { Description = "A file of checkpoints kept outside the escrow (JSON lines or an array of {statement, signature, keyId}) to hold the log against." };
        var verify = new Command("verify", "Recompute the whole log's chain and every organization's chain, and hold them against every signed checkpoint.") { kept };
        verify.SetAction((parse, ct) => c.RunAsync(true, async services =>
        {
            var given = parse.GetValue(kept) is { } path ? ReadCheckpoints(path) : [];
            var result = await services.GetRequiredService<AuditTrail>().VerifyLogAsync(given, ct);
            c.Out.WriteLine($"events: {result.EventCount}; head: {Convert.ToHexStringLower(result.HeadHash)}; checkpoints checked: {result.CheckpointsChecked}");
            foreach (var problem in result.Problems) c.Out.WriteLine("problem: " + problem);
            if (result.Valid) c.Out.WriteLine("the audit log verifies");
            return result.Valid ? Ok : c.Fail("the audit log does not verify");
        }, ct));
        audit.Add(verify);

        var export = new Option<string?>("--export") { Description = "Append the whole log's new checkpoint to this file (JSON lines): keep it outside the escrow." };
        var checkpoint = new Command("checkpoint", "Sign checkpoints now: the whole log's chain and every organization's chain that grew.") { export };
        checkpoint.SetAction((parse, ct) => c.RunAsync(true, async services =>
        {
            var (signed, broken) = await services.GetRequiredService<AuditCheckpoints>().CreateAllAsync(ct);
            c.Out.WriteLine($"signed {signed} checkpoints");
            if (parse.GetValue(export) is { } path && await services.GetRequiredService<IAuditViewStore>().LatestCheckpointAsync(null, ct) is { } latest)
            {
                await File.AppendAllTextAsync(path, JsonSerializer.Serialize(new { statement = latest.Signed.Statement, signature = latest.Signed.Signature, keyId = latest.Signed.KeyId }) + "\n", ct);
                c.Out.WriteLine($"the log's checkpoint (seq {latest.Size}) appended to {path}");
            }
            return broken.Count == 0 ? Ok : c.Fail("chains that do not verify (no checkpoint signed): " + string.Join(", ", broken));
        }, ct));
        audit.Add(checkpoint);
        return audit;
    }

    private static Command Organization(Context c)
    {
        var organization = new Command("organization", "Organizations.");
        var which = new Argument<string>("organization") { Description = "The organization's id or slug." };
        var confirm = new Option<string>("--confirm") { Description = "The organization's slug, again: deleting cannot be undone.", Required = true };
        var receipt = new Option<string?>("--receipt") { Description = "Write the signed deletion receipt to this file." };
        var delete = new Command("delete", "Delete an organization for good: destroy its keys (crypto-shredding), its rows, its open partnerships; print the signed receipt.")
            { which, confirm, receipt };
        delete.SetAction((parse, ct) => c.RunAsync(true, async services =>
        {
            var accounts = services.GetRequiredService<IAccountRepository>();
            var id = await ResolveAsync(services, parse.GetValue(which)!, ct);
            if (id is null || await accounts.GetOrganizationAsync(id, ct) is not { } org) return c.Fail($"no organization has the id or slug \"{parse.GetValue(which)}\".");
            if (parse.GetValue(confirm) != org.Slug) return c.Fail("--confirm must be the organization's slug, exactly.");
            var signed = await services.GetRequiredService<OrganizationErasure>().EraseAsync(org, "system:operator", ct);
            var json = JsonSerializer.Serialize(new { statement = signed.Statement, signature = signed.Signature, keyId = signed.KeyId });
            if (parse.GetValue(receipt) is { } path) await File.WriteAllTextAsync(path, json + "\n", ct);
            c.Out.WriteLine($"organization {org.Id} ({org.Slug}) deleted; receipt:");
            c.Out.WriteLine(json);
            return Ok;
        }, ct));
        organization.Add(delete);
        return organization;
    }

    private static Command SignupCode(Context c)
    {
        var days = new Option<int>("--days") { Description = "Days the code stays valid.", DefaultValueFactory = _ => 7 };
        var command = new Command("signup-code", "Issue a one-time sign-up code (for Escrow:Signup:Mode=code); it is shown once.") { days };
        command.SetAction((parse, ct) => c.RunAsync(true, async services =>
        {
            var code = await services.GetRequiredService<Application.Accounts.Accounts>().CreateSignupCodeAsync(TimeSpan.FromDays(Math.Clamp(parse.GetValue(days), 1, 90)), ct);
            c.Out.WriteLine(code);
            return Ok;
        }, ct));
        return command;
    }

    private static async Task<string?> ResolveAsync(IServiceProvider services, string idOrSlug, CancellationToken ct)
    {
        var accounts = services.GetRequiredService<IAccountRepository>();
        if (await accounts.GetOrganizationAsync(idOrSlug, ct) is { } byId) return byId.Id;
        return (await accounts.FindOrganizationBySlugAsync(idOrSlug.Trim().ToLowerInvariant(), ct))?.Id;
    }

    private static IReadOnlyList<SignedStatement> ReadCheckpoints(string path)
    {
        var text = File.ReadAllText(path).Trim();
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        var items = text.StartsWith('[')
            ? JsonSerializer.Deserialize<List<KeptCheckpoint>>(text, options) ?? []
            : text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonSerializer.Deserialize<KeptCheckpoint>(l, options)!).ToList();
        return items.Select(k => new SignedStatement(k.Statement, k.Signature, k.KeyId)).ToList();
    }

    private sealed record KeptCheckpoint(string Statement, string Signature, string KeyId);

    private static string Name(SecretKind kind) => kind switch
    {
        SecretKind.Master => "master key",
        SecretKind.Token => "token key",
        SecretKind.AuditSigning => "audit signing key",
        _ => "access-token signing key",
    };

    private static string List(IReadOnlyCollection<string> items) => items.Count == 0 ? "" : " (" + string.Join(", ", items.Take(10)) + (items.Count > 10 ? ", …" : "") + ")";
}
