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
    /// <remarks>In the rule's order of fields (a field the rule names twice, once); a map over an array of its own, not a hash table per match.</remarks>
    public static IReadOnlyDictionary<string, string> Project(EscrowRecord partnerRecord, EffectiveSharing sharing, string partnerPopulationType)
    {
        if (sharing.Level != SharingLevel.Overlaps || sharing.Fields.Count == 0) return AttributeMap.Empty;
        var shared = new RecordAttribute[sharing.Fields.Count];
        var n = 0;
        foreach (var field in sharing.Fields)
        {
            if (OpportunityFields.IsOwnOnly(partnerPopulationType, field) || partnerRecord.Attribute(field) is not { } value) continue;
            var twice = false;
            for (var i = 0; i < n && !twice; i++) twice = string.Equals(shared[i].Name, field, StringComparison.Ordinal);
            if (!twice) shared[n++] = new RecordAttribute(field, value);
        }
        if (n == 0) return AttributeMap.Empty;
        if (n < shared.Length) Array.Resize(ref shared, n);
        return new AttributeMap(shared);
    }
}
