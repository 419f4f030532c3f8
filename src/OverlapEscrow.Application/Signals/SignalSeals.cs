using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Signals;

namespace OverlapEscrow.Application.Signals;

/// <summary>
/// The free text of data requests and of the attribution ledger, sealed at rest under its author's organization data
/// key (AES-256-GCM through <see cref="IKeyring"/>, bound to a purpose label and the row's id, with the key version):
/// the requester's message, the owner's decline reason, the claimant's record id, evidence and note, the partner's
/// response note. Crypto-shredding an organization makes its texts unreadable in the database, its log and every
/// backup; a data-key rotation re-seals them (<see cref="DataKeyRotation"/>). A text whose author was erased reads as
/// erased, never as an error.
/// </summary>
public static class SignalSeals
{
    public const string MessageLabel = "oe-data-request-message-v1";
    public const string ReasonLabel = "oe-data-request-reason-v1";
    public const string ClaimLabel = "oe-attribution-claim-v1";
    public const string ResponseLabel = "oe-attribution-response-v1";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>What the requester's message seal holds: the message and the name its population had when it asked.</summary>
    private sealed record MessageText(string Message, string? Population);

    /// <summary>What the claimant's seal holds.</summary>
    private sealed record ClaimText(string RecordId, IReadOnlyList<AttributionEvidence> Evidence, string? Note);

    public static SealedValue SealMessage(IOrganizationCipher requester, string requestId, string message, string? populationName) =>
        requester.Seal(MessageLabel, requestId, JsonSerializer.SerializeToUtf8Bytes(new MessageText(message, populationName), Json));

    public static SealedValue SealReason(IOrganizationCipher owner, string requestId, string reason) =>
        owner.Seal(ReasonLabel, requestId, Encoding.UTF8.GetBytes(reason));

    public static SealedValue SealClaim(IOrganizationCipher claimant, AttributionClaim claim) =>
        claimant.Seal(ClaimLabel, claim.Id, JsonSerializer.SerializeToUtf8Bytes(new ClaimText(claim.RecordId, claim.Evidence, claim.Note), Json));

    public static SealedValue SealResponse(IOrganizationCipher partner, string claimId, string note) =>
        partner.Seal(ResponseLabel, claimId, Encoding.UTF8.GetBytes(note));

    /// <summary>
    /// Opens the texts of stored rows with their authors' ciphers, each organization's opened once per reader. Dispose it
    /// to clear the keys from memory.
    /// </summary>
    public sealed class Reader(IKeyring keyring) : IDisposable
    {
        private readonly Dictionary<string, IOrganizationCipher?> _ciphers = new(StringComparer.Ordinal);

        /// <summary>The organization's cipher; null once it was erased (its key destroyed).</summary>
        public async Task<IOrganizationCipher?> CipherAsync(string organizationId, CancellationToken ct)
        {
            if (_ciphers.TryGetValue(organizationId, out var cipher)) return cipher;
            try { cipher = await keyring.ForOrganizationAsync(organizationId, ct); }
            catch (OrganizationGoneException) { cipher = null; }
            return _ciphers[organizationId] = cipher;
        }

        private async Task<byte[]?> OpenAsync(string organizationId, string label, string id, SealedValue value, CancellationToken ct) =>
            await CipherAsync(organizationId, ct) is { } cipher ? cipher.Open(label, id, value) : null;

        public async Task<DataRequest> OpenAsync(StoredDataRequest stored, CancellationToken ct)
        {
            var request = stored.Request;
            if (stored.Message is { } message)
            {
                var text = await OpenAsync(request.RequesterOrganizationId, MessageLabel, request.Id, message, ct);
                var opened = text is null ? null : JsonSerializer.Deserialize<MessageText>(text, Json);
                request = opened is null
                    ? request with { Message = "", MessageErased = true }
                    : request with { Message = opened.Message, RequesterPopulationName = opened.Population };
            }
            else if (request.Message.Length == 0) request = request with { MessageErased = true }; // cleared: its author was erased before it was sealed
            if (stored.Reason is { } reason)
            {
                var text = await OpenAsync(request.OwnerOrganizationId, ReasonLabel, request.Id, reason, ct);
                request = text is null ? request with { Reason = null, ReasonErased = true } : request with { Reason = Encoding.UTF8.GetString(text) };
            }
            return request;
        }

        public async Task<AttributionClaim> OpenAsync(StoredAttribution stored, CancellationToken ct)
        {
            var claim = stored.Claim;
            if (stored.ClaimText is { } sealedClaim)
            {
                var text = await OpenAsync(claim.ClaimantOrganizationId, ClaimLabel, claim.Id, sealedClaim, ct);
                var opened = text is null ? null : JsonSerializer.Deserialize<ClaimText>(text, Json);
                claim = opened is null
                    ? claim with { RecordId = "", Evidence = [], Note = null, ClaimErased = true }
                    : claim with { RecordId = opened.RecordId, Evidence = opened.Evidence, Note = opened.Note };
            }
            else if (claim.RecordId.Length == 0) claim = claim with { ClaimErased = true };
            if (stored.Response is { } response)
            {
                var text = await OpenAsync(claim.PartnerOrganizationId, ResponseLabel, claim.Id, response, ct);
                claim = text is null ? claim with { ResponseNote = null, ResponseErased = true } : claim with { ResponseNote = Encoding.UTF8.GetString(text) };
            }
            return claim;
        }

        public void Dispose()
        {
            foreach (var cipher in _ciphers.Values) cipher?.Dispose();
            _ciphers.Clear();
        }
    }
}

/// <summary>
/// Seals the texts of data requests and claims stored before they were sealed (at every start, before the service
/// answers, and in the operator's command line): each row's plaintext is sealed under its author's key and the plaintext
/// column cleared (a compare-and-set); the text of an author erased meanwhile is cleared. Then the database's free pages
/// and log are purged, so the plaintext does not linger in the file.
/// </summary>
public sealed class SignalSealing(IDataRequestRepository requests, IAttributionRepository ledger, IKeyring keyring, IDatabaseMaintenance database,
    ILogger<SignalSealing> logger)
{
    private const int Batch = 200;

    public async Task<int> SealLegacyAsync(CancellationToken ct)
    {
        var sealedRows = 0;
        using var reader = new SignalSeals.Reader(keyring);
        while (true)
        {
            var page = await requests.ListUnsealedAsync(Batch, ct);
            if (page.Count == 0) break;
            foreach (var r in page)
            {
                var message = r.Message.Length > 0;
                var reason = r.Reason is not null;
                var requester = message ? await reader.CipherAsync(r.RequesterOrganizationId, ct) : null;
                var owner = reason ? await reader.CipherAsync(r.OwnerOrganizationId, ct) : null;
                await requests.SealLegacyAsync(r.Id, message, requester is null ? null : SignalSeals.SealMessage(requester, r.Id, r.Message, null),
                    reason, owner is null ? null : SignalSeals.SealReason(owner, r.Id, r.Reason!), ct);
                if (++sealedRows == 1) await database.OwePurgeAsync(ct); // as LegacySealing: owed once the first text is cleared
            }
        }
        while (true)
        {
            var page = await ledger.ListUnsealedAsync(Batch, ct);
            if (page.Count == 0) break;
            foreach (var c in page)
            {
                var claim = c.RecordId.Length > 0 || c.Evidence.Count > 0 || c.Note is not null;
                var response = c.ResponseNote is not null;
                var claimant = claim ? await reader.CipherAsync(c.ClaimantOrganizationId, ct) : null;
                var partner = response ? await reader.CipherAsync(c.PartnerOrganizationId, ct) : null;
                await ledger.SealLegacyAsync(c.Id, claim, claimant is null ? null : SignalSeals.SealClaim(claimant, c),
                    response, partner is null ? null : SignalSeals.SealResponse(partner, c.Id, c.ResponseNote!), ct);
                if (++sealedRows == 1) await database.OwePurgeAsync(ct); // as LegacySealing: owed once the first text is cleared
            }
        }
        if (sealedRows > 0)
        {
            logger.LogInformation("Sealed the texts of {Count} data requests and attribution claims stored before texts were sealed", sealedRows);
            await database.TryPurgeDeletedContentAsync(logger, "sealing signal texts", ct);
        }
        return sealedRows;
    }
}
