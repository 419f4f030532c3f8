using OverlapEscrow.Domain.Tokens;

namespace OverlapEscrow.Domain.Records;

/// <summary>One identifier of a record, in its escrow-keyed form.</summary>
public readonly record struct RecordToken(IdentifierType Type, Token Token);

/// <summary>A display attribute of a record (account name, owner, stage …), shared only as the owner's rule allows.</summary>
public readonly record struct RecordAttribute(string Name, string Value);

/// <summary>
/// One account as the escrow stores it: the owner's opaque record id, its tokens (never the uploaded hashes)
/// and its display attributes. In a delta, <see cref="Deleted"/> marks a removal by record id.
/// </summary>
public sealed record EscrowRecord(string RecordId, RecordToken[] Tokens, RecordAttribute[] Attributes, bool Deleted = false)
{
    public static EscrowRecord Deletion(string recordId) => new(recordId, [], [], Deleted: true);

    public string? Attribute(string name)
    {
        foreach (var a in Attributes)
            if (string.Equals(a.Name, name, StringComparison.Ordinal)) return a.Value;
        return null;
    }
}
