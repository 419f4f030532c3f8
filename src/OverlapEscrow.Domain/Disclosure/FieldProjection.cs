using OverlapEscrow.Domain.Records;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Domain.Disclosure;

/// <summary>Which attributes of a partner's matching record a viewer receives.</summary>
public static class FieldProjection
{
    /// <summary>
    /// The partner record's attributes the owner's rule names, and only those the record has; nothing below the
    /// overlaps level. The partner's record id and tokens are never part of it.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Project(EscrowRecord partnerRecord, EffectiveSharing sharing)
    {
        var shared = new Dictionary<string, string>(StringComparer.Ordinal);
        if (sharing.Level != SharingLevel.Overlaps) return shared;
        foreach (var field in sharing.Fields)
            if (partnerRecord.Attribute(field) is { } value) shared[field] = value;
        return shared;
    }
}
