using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Application.Webhooks;
using OverlapEscrow.Application.Schedules;
using OverlapEscrow.Application.Overlaps;

namespace OverlapEscrow.Application.Keys;

/// <summary>
/// Moves organizations' data keys out of the database into the keyring (once, at the first start of this version; a
/// forward-only step). Crash-safe: a key is cleared from the database only after the keyring holds it durably, and a
/// start after a crash in between finds it there and only clears the database's copy.
/// </summary>
public sealed class LegacyKeyMove(IAccountRepository accounts, Keyring keyring, ILogger<LegacyKeyMove> logger)
{
    public async Task<int> RunAsync(CancellationToken ct)
    {
        var legacy = await accounts.ListLegacyKeysAsync(ct);
        foreach (var key in legacy)
        {
            // False: the organization was erased (its key must never come back) or the keyring holds another key for
            // it; either way the database's copy goes, the first case being finished by the erasure's resumption.
            if (!keyring.ImportLegacyKey(key.OrganizationId, key.Key, key.CreatedAt) && keyring.Store.ReadErasure(key.OrganizationId) is null)
                throw new CryptographicException($"The keyring holds another key for organization {key.OrganizationId} than the database; nothing was changed for it.");
            await accounts.ClearLegacyKeyAsync(key.OrganizationId, ct);
        }
        if (legacy.Count > 0) logger.LogWarning("Moved the data keys of {Count} organizations from the database into the keyring", legacy.Count);
        return legacy.Count;
    }
}

/// <summary>What a data-key rotation did.</summary>
public sealed record DataKeyRotationResult(string OrganizationId, int FromVersions, int ToVersion, long Resealed, IReadOnlyList<string> DestroyedKeyIds);

/// <summary>Settings of one run of a data-key rotation.</summary>
/// <param name="Batch">Values re-sealed per database round trip.</param>
/// <param name="Pace">A pause after each batch, to spare a busy machine.</param>
/// <param name="Settle">How long to wait, once nothing is sealed under an older key, before destroying it (writers in flight finish).</param>
/// <param name="Progress">Called after each batch with the number of values re-sealed so far.</param>
public sealed record DataKeyRotationOptions(int Batch = 256, TimeSpan Pace = default, TimeSpan? Settle = null, Action<long>? Progress = null);

/// <summary>
/// Rotates an organization's data key without downtime: a new key version becomes current at once (every value sealed
/// from then on uses it), every stored value under an older version is opened and sealed again under the new one
/// (segments, history record ids, webhook and pull secrets, data-request and attribution texts: <see cref="ISealedValueStore"/>), and the older versions
/// are destroyed at the end, once nothing is sealed under them.
/// </summary>
/// <remarks>
/// Crash-safe and resumable: the keyring holds both versions until the end, so a value is readable whether or not it
/// was re-sealed yet; each value is replaced by a compare-and-set (a concurrent change wins and is sealed under the new
/// key already); running the rotation again after a crash resumes it (<see cref="Keyring.StartDataKeyRotation"/> does
/// not start a second one). Uploads that began before the rotation may still hold a cipher without the new key, so the
/// old key is destroyed only after they have finished and a settling pause found nothing new under it. A version's
/// columns built on its first load (after its commit, so not waited for here) are left without their header when the
/// key changed during the build (<see cref="VersionStore"/>): no version's columns depend on the destroyed key.
/// </remarks>
public sealed class DataKeyRotation(Keyring keyring, ISealedValueStore sealedValues, IAuditRepository audit, TimeProvider time, ILogger<DataKeyRotation> logger)
{
    public static readonly TimeSpan DefaultSettle = TimeSpan.FromSeconds(5);
    private const int MaxPasses = 20;

    public async Task<DataKeyRotationResult> RotateAsync(string organizationId, DataKeyRotationOptions options, CancellationToken ct)
    {
        var keys = keyring.StartDataKeyRotation(organizationId);
        var current = keys.CurrentVersion;
        var startedAt = keys.Current.CreatedAt;
        var fromVersions = keys.Keys.Count - 1;
        long resealed = 0;
        for (var pass = 0; ; pass++)
        {
            if (pass >= MaxPasses)
                throw new InvalidOperationException($"Values of {organizationId} are still sealed under older keys after {MaxPasses} passes; run the rotation again later (it resumes).");
            resealed += await ResealPassAsync(organizationId, current, options, resealed, ct);
            if ((await sealedValues.CountByKeyVersionAsync(organizationId, ct)).Any(c => c.Key != current && c.Value > 0)) continue;
            // Uploads that started before the new key existed may still write under the old one.
            var deadline = time.GetUtcNow() + TimeSpan.FromMinutes(10);
            int running;
            while ((running = await sealedValues.PendingVersionsStartedBeforeAsync(organizationId, startedAt, ct)) > 0)
            {
                if (time.GetUtcNow() > deadline)
                    throw new InvalidOperationException($"{running} uploads of {organizationId} that began before the rotation are still running after 10 minutes " +
                        "(a slow client, or a pull schedule's run: pause the organization's schedules, or wait for the runs' time limit); " +
                        "every value is readable meanwhile. Run the rotation again later: it resumes.");
                await Task.Delay(TimeSpan.FromSeconds(1), time, ct);
            }
            await Task.Delay(options.Settle ?? DefaultSettle, time, ct);
            if ((await sealedValues.CountByKeyVersionAsync(organizationId, ct)).All(c => c.Key == current || c.Value == 0)) break;
        }
        var destroyed = keyring.DestroyOldDataKeys(organizationId);
        await audit.AppendAsync(new AuditEntry(time.GetUtcNow(), organizationId, "system:operator", "organization.data_key_rotated", null,
            new { keyVersion = current, destroyedKeyIds = destroyed, resealed }), ct);
        logger.LogInformation("Rotated the data key of {OrganizationId} to version {Version}: {Resealed} values re-sealed, {Destroyed} old keys destroyed",
            organizationId, current, resealed, destroyed.Count);
        return new DataKeyRotationResult(organizationId, fromVersions, current, resealed, destroyed);
    }

    /// <summary>Organizations whose rotation was interrupted (the keyring holds more than one version): run <see cref="RotateAsync"/> for each to finish it.</summary>
    public IReadOnlyList<string> Interrupted() =>
        keyring.Store.ListOrganizations().Where(id => keyring.Store.Read(id) is { Keys.Count: > 1 }).ToList();

    private async Task<long> ResealPassAsync(string organizationId, int current, DataKeyRotationOptions options, long before, CancellationToken ct)
    {
        long count = 0;
        // The key set is read again each pass: it holds the new version and every older one still present.
        using var cipher = keyring.Open(keyring.Store.Read(organizationId) ?? throw new OrganizationGoneException());
        foreach (var kind in Enum.GetValues<SealKind>())
        {
            var (afterRow, afterSeq) = ("", -1L);
            while (true)
            {
                var page = await sealedValues.ListNotUnderAsync(organizationId, kind, current, afterRow, afterSeq, options.Batch, ct);
                if (page.Count == 0) break;
                foreach (var seal in page)
                {
                    var plaintext = Open(cipher, seal);
                    try
                    {
                        if (await sealedValues.ReplaceAsync(organizationId, seal, Seal(cipher, seal, plaintext), ct)) count++;
                    }
                    finally
                    {
                        CryptographicOperations.ZeroMemory(plaintext);
                    }
                }
                (afterRow, afterSeq) = (page[^1].RowId, page[^1].Seq);
                options.Progress?.Invoke(before + count);
                if (options.Pace > TimeSpan.Zero) await Task.Delay(options.Pace, time, ct);
            }
        }
        return count;
    }

    private static byte[] Open(IOrganizationCipher cipher, StoredSeal seal) => seal.Kind switch
    {
        SealKind.Segment => cipher.OpenSegment(seal.RowId, seal.Seq, seal.Value),
        SealKind.VersionColumns => cipher.Open(VersionStore.SealLabel, VersionStore.SealId(seal.RowId, seal.Seq), seal.Value),
        _ => cipher.Open(Label(seal.Kind), seal.RowId, seal.Value),
    };

    private static SealedValue Seal(IOrganizationCipher cipher, StoredSeal seal, byte[] plaintext) => seal.Kind switch
    {
        SealKind.Segment => cipher.SealSegment(seal.RowId, seal.Seq, plaintext),
        SealKind.VersionColumns => cipher.Seal(VersionStore.SealLabel, VersionStore.SealId(seal.RowId, seal.Seq), plaintext),
        _ => cipher.Seal(Label(seal.Kind), seal.RowId, plaintext),
    };

    /// <summary>The label each kind of value is sealed with (the associated data its use binds it to).</summary>
    private static string Label(SealKind kind) => kind switch
    {
        SealKind.HistoryRecordIds => HistoryRecorder.SealLabel,
        SealKind.WebhookSecret or SealKind.WebhookPreviousSecret => WebhookDeliverer.SecretLabel,
        SealKind.ScheduleSecret => ScheduleSecrets.Label,
        SealKind.DataRequestMessage => Signals.SignalSeals.MessageLabel,
        SealKind.DataRequestReason => Signals.SignalSeals.ReasonLabel,
        SealKind.AttributionClaim => Signals.SignalSeals.ClaimLabel,
        SealKind.AttributionResponse => Signals.SignalSeals.ResponseLabel,
        SealKind.WebhookPayload => WebhookDeliverer.PayloadLabel,
        SealKind.WebhookTarget => WebhookTargets.Label,
        SealKind.ScheduleSourceUrl => ScheduleSecrets.SourceLabel,
        SealKind.MemberIdentity => Accounts.MemberIdentities.Label,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}

/// <summary>One kind of the escrow's keys, as the operator's status shows it.</summary>
public sealed record KeyVersionStatus(SecretKind Kind, int Version, DateTimeOffset CreatedAt, bool Current);

/// <summary>The keys' state: the escrow's key versions, and per organization the data key versions it holds.</summary>
public sealed record KeyStatus(
    IReadOnlyList<KeyVersionStatus> EscrowKeys,
    string SigningKeyId,
    IReadOnlyList<string> RetiredSigningKeyIds,
    IReadOnlyDictionary<int, int> OrganizationsByMasterKeyVersion,
    IReadOnlyList<string> InterruptedRotations,
    IReadOnlyList<string> Erased,
    IReadOnlyList<string> OrganizationsWithoutKey,
    IReadOnlyList<string> KeysWithoutOrganization,
    IReadOnlyList<UnreadableValues> Unreadable);

/// <summary>
/// Values of an organization sealed under data-key versions its keyring no longer holds: a database restored from a
/// backup taken before a data-key rotation finished (the old key was destroyed at its end). They cannot be read by any
/// key the escrow has; the organization's affected uploads must be sent again, its webhooks' and schedules' secrets set
/// again (docs/operations.md, "Key rotation").
/// </summary>
public sealed record UnreadableValues(string OrganizationId, IReadOnlyList<int> MissingKeyVersions, long Values);

/// <summary>
/// The operator's key tasks other than data-key rotation: the master key (rotate: a new version and every data key
/// re-wrapped; retire an old version once nothing is wrapped by it), the access-token signing key (a new kid; the old
/// one validates until the tokens it signed have expired), and the token key (see docs/operations.md: a token-key
/// change keys uploads under both keys until every population was uploaded again).
/// </summary>
public sealed class KeyAdministration(EscrowSecrets secrets, Keyring keyring, EscrowSigner signer, IAccountRepository accounts, IOrganizationErasureStore organizations,
    IPopulationRepository populations, ISealedValueStore sealedValues, TimeProvider time, ILogger<KeyAdministration> logger)
{
    /// <summary>
    /// The keys' state; <paramref name="findUnreadable"/> also looks for values sealed under data-key versions the
    /// keyring no longer holds (it reads every sealed value's key version: `keys status` and `restore`, not every start).
    /// </summary>
    public async Task<KeyStatus> StatusAsync(CancellationToken ct, bool findUnreadable = false)
    {
        secrets.Rescan();
        var escrowKeys = Enum.GetValues<SecretKind>().SelectMany(kind =>
        {
            var versions = secrets.Versions(kind);
            return versions.Select(v => new KeyVersionStatus(kind, v.Version, v.CreatedAt, kind == SecretKind.Token || v == versions[^1]));
        }).ToList();
        var byMaster = new Dictionary<int, int>();
        var interrupted = new List<string>();
        var withKeys = keyring.Store.ListOrganizations();
        foreach (var id in withKeys)
        {
            var set = keyring.Store.Read(id)!;
            foreach (var v in set.Keys.Select(k => k.MasterKeyVersion).Distinct()) byMaster[v] = byMaster.GetValueOrDefault(v) + 1;
            if (set.Keys.Count > 1) interrupted.Add(id);
        }
        var inDatabase = await organizations.ListOrganizationIdsAsync(ct);
        var erased = keyring.Store.ListErased();
        var unreadable = new List<UnreadableValues>();
        foreach (var id in findUnreadable ? inDatabase.Intersect(withKeys) : [])
        {
            var held = keyring.Store.Read(id)!.Keys.Select(k => k.Version).ToHashSet();
            var missing = (await sealedValues.CountByKeyVersionAsync(id, ct)).Where(c => c.Value > 0 && !held.Contains(c.Key)).ToList();
            if (missing.Count > 0) unreadable.Add(new UnreadableValues(id, missing.Select(m => m.Key).Order().ToList(), missing.Sum(m => m.Value)));
        }
        return new KeyStatus(escrowKeys, signer.KeyId, signer.PublishedKeys.Where(k => k.Retired).Select(k => k.KeyId).ToList(), byMaster, interrupted, erased,
            inDatabase.Except(withKeys).Except(erased).ToList(), withKeys.Except(inDatabase).ToList(), unreadable);
    }

    /// <summary>Writes the next master key version and re-wraps every data key under it; run again to resume. Returns the new version and how many keys were re-wrapped.</summary>
    public (int Version, int Rewrapped) RotateMasterKey(bool resumeOnly = false)
    {
        var version = resumeOnly ? secrets.Current(SecretKind.Master).Version : secrets.CreateNext(SecretKind.Master).Version;
        var rewrapped = keyring.Store.ListOrganizations().Sum(keyring.RewrapUnderCurrentMasterKey);
        logger.LogInformation("Master key version {Version} current; {Count} data keys re-wrapped", version, rewrapped);
        return (version, rewrapped);
    }

    /// <summary>Destroys a master key version once no data key is wrapped by it (in the keyring or still in the database).</summary>
    public async Task<Outcome<int>> RetireMasterKeyAsync(int version, CancellationToken ct)
    {
        var users = keyring.Store.ListOrganizations().Where(id => keyring.Store.Read(id)!.Keys.Any(k => k.MasterKeyVersion == version)).ToList();
        if ((await accounts.ListLegacyKeysAsync(ct)).Any(k => k.Key.MasterKeyVersion == version)) users.Add("(the database)");
        if (users.Count > 0)
            return new Failure.Conflict($"{users.Count} organizations still have keys wrapped by master key version {version} ({string.Join(", ", users.Take(5))}); run `keys rotate-master --resume` first.");
        if (secrets.Current(SecretKind.Master).Version == version) return new Failure.Conflict($"Master key version {version} is the current one; rotate first.");
        // Every instance re-reads the key files at most every RescanInterval: until each has seen the newer version, one may
        // still wrap a new organization's data key under this one (a sign-up right after the rotation), which the check
        // above cannot see yet. Wait two intervals after the newer version appeared, then check again.
        if (secrets.Versions(SecretKind.Master).FirstOrDefault(v => v.Version > version) is { } newer
            && newer.CreatedAt + 2 * EscrowSecrets.RescanInterval is var safeAfter && time.GetUtcNow() < safeAfter)
            return new Failure.Conflict($"Instances may still wrap new data keys under master key version {version} until {safeAfter:u} (they re-read the key files every {EscrowSecrets.RescanInterval.TotalSeconds:0} s); retire it after that.");
        secrets.Retire(SecretKind.Master, version);
        return version;
    }

    public VersionedKey RotateSigningKey() => secrets.CreateNext(SecretKind.AccessTokenSigning);

    /// <summary>Destroys an access-token signing key version once every token it signed has expired (the newer key is older than a token's lifetime).</summary>
    public Outcome<int> RetireSigningKey(int version, TimeSpan accessTokenLifetime)
    {
        var versions = secrets.Versions(SecretKind.AccessTokenSigning);
        var newer = versions.Where(v => v.Version > version).ToList();
        if (newer.Count == 0) return new Failure.Conflict($"Signing key version {version} is the current one; rotate first.");
        var safeAfter = newer[0].CreatedAt + accessTokenLifetime + TimeSpan.FromMinutes(1);
        if (time.GetUtcNow() < safeAfter)
            return new Failure.Conflict($"Tokens signed with version {version} may still be valid until {safeAfter:u}; retire it after that.");
        secrets.Retire(SecretKind.AccessTokenSigning, version);
        return version;
    }

    /// <summary>Writes the next audit signing key: it signs checkpoints and deletion receipts from now on; the older ones stay published.</summary>
    public PublishedSigningKey RotateAuditSigningKey()
    {
        var version = secrets.CreateNext(SecretKind.AuditSigning).Version;
        return signer.PublishedKeys.Single(k => k.Version == version && !k.Retired);
    }

    /// <summary>
    /// Destroys an older audit signing key's seed (say one that may have leaked) and keeps its public key published, so
    /// what it signed still verifies. Not the current one, and not before every instance has read the newer one (they
    /// re-read the key files every <see cref="EscrowSecrets.RescanInterval"/>; until then one may still sign with it).
    /// </summary>
    public Outcome<int> RetireAuditSigningKey(int version)
    {
        var versions = secrets.Versions(SecretKind.AuditSigning);
        if (versions.All(v => v.Version != version)) return new Failure.Conflict($"No audit signing key version {version} is present.");
        if (versions[^1].Version == version) return new Failure.Conflict($"Audit signing key version {version} is the current one; rotate first.");
        var safeAfter = versions.First(v => v.Version > version).CreatedAt + 2 * EscrowSecrets.RescanInterval;
        if (time.GetUtcNow() < safeAfter)
            return new Failure.Conflict($"Instances may still sign with audit signing key version {version} until {safeAfter:u} (they re-read the key files every {EscrowSecrets.RescanInterval.TotalSeconds:0} s); retire it after that.");
        signer.KeepPublicKey(version);
        secrets.Retire(SecretKind.AuditSigning, version);
        return version;
    }

    /// <summary>Adds the next token key: from now on every upload is keyed under every token key present (both, during a change).</summary>
    public VersionedKey AddTokenKey() => secrets.CreateNext(SecretKind.Token);

    /// <summary>
    /// Destroys an older token key once every population's current version is keyed under a newer one (each partner
    /// has uploaded since the change began); otherwise lists who has not.
    /// </summary>
    public async Task<Outcome<int>> RetireTokenKeyAsync(int version, CancellationToken ct)
    {
        var versions = secrets.Versions(SecretKind.Token);
        var newer = versions.Where(v => v.Version > version).Select(v => v.Version).ToList();
        if (newer.Count == 0) return new Failure.Conflict($"Token key version {version} is the newest; add the next one (`keys add-token-key`) first.");
        var behind = await populations.PopulationsNotKeyedUnderAsync(newer[^1], ct);
        if (behind.Count > 0)
            return new Failure.Conflict($"{behind.Count} populations have not been uploaded since token key {newer[^1]} was added (for example {string.Join(", ", behind.Take(5).Select(b => b.OrganizationId + "/" + b.PopulationId))}); their partners would stop matching them.");
        // Members' email lookups are derived from the token key; the start's steps (run before this command) made them
        // again under the newest one, and any left under this version could not sign in once it is gone.
        var members = await accounts.CountMembersUnderLookupAsync("e" + version.ToString(System.Globalization.CultureInfo.InvariantCulture) + ":", ct);
        if (members > 0)
            return new Failure.Conflict($"{members} members are still found by a lookup made under token key {version} (the start's log says why they could not be made again); they could not sign in once it is gone.");
        secrets.Retire(SecretKind.Token, version);
        return version;
    }
}
