using OverlapEscrow.Domain.Opportunities;
using OverlapEscrow.Domain.Records;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Domain.Disclosure;

/// <summary>Which attributes of a partner's matching record a viewer receives.</summary>
public static class FieldProjection
{
    /// <summary>
    /// The partner record's attributes the owner's rule names, and only those the record has; nothing below the
    /// overlaps level. The partner's record id and tokens are never part of it. The opportunity fields of an
    /// opportunities population (amount, currency, stage, dates, outcome, owner) are never part of it either, even
    /// when the rule names them: they are the owner's pipeline, used only in the owner's own figures
    /// (<see cref="OpportunityFields.IsOwnOnly"/>, docs/health.md).
    /// </summary>
    public static IReadOnlyDictionary<string, string> Project(EscrowRecord partnerRecord, EffectiveSharing sharing, string partnerPopulationType)
    {
        var shared = new Dictionary<string, string>(StringComparer.Ordinal);
        if (sharing.Level != SharingLevel.Overlaps) return shared;
        foreach (var field in sharing.Fields)
            if (!OpportunityFields.IsOwnOnly(partnerPopulationType, field) && partnerRecord.Attribute(field) is { } value) shared[field] = value;
        return shared;
    }
}
