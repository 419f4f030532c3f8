using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Application.Audit;

/// <summary>
/// The hashes of the audit log: the whole log's chain over every event, and each organization's chain over the events
/// it may read. Both are SHA-256 chains (FIPS 180-4) starting from 32 zero bytes.
/// </summary>
public static class AuditChain
{
    public static readonly byte[] Genesis = new byte[32];

    /// <summary>An event's hash in the whole log: SHA-256(previous hash || canonical JSON of [seq, at, organization, actor, action, partnership, detail]).</summary>
    public static byte[] Hash(byte[] prev, long seq, long atUnixMs, string organizationId, string actor, string action, string? partnershipId, string detailJson)
    {
        var canonical = JsonSerializer.Serialize(new object?[] { seq, atUnixMs, organizationId, actor, action, partnershipId, detailJson });
        return Link(prev, canonical);
    }

    /// <summary>Whether a stored event's hash is what its content and its stored predecessor hash give (one link, checked alone).</summary>
    public static bool LinkHolds(AuditEvent e) =>
        e.Hash.AsSpan().SequenceEqual(Hash(e.PrevHash, e.Seq, e.At.ToUnixTimeMilliseconds(), e.OrganizationId, e.Actor, e.Action, e.PartnershipId, e.Detail.GetRawText()));

    /// <summary>An entry's hash in an organization's chain: SHA-256(previous hash || UTF-8 of the record, exactly as stored and served).</summary>
    public static byte[] Link(byte[] prev, string record)
    {
        var bytes = new byte[prev.Length + Encoding.UTF8.GetByteCount(record)];
        prev.CopyTo(bytes, 0);
        Encoding.UTF8.GetBytes(record, bytes.AsSpan(prev.Length));
        return SHA256.HashData(bytes);
    }
}
