namespace OverlapEscrow.Domain.Organizations;

/// <summary>A tenant of the escrow. Its data key is not part of it: keys only ever go through the keyring.</summary>
public sealed record Organization(string Id, string Slug, string Name, DateTimeOffset CreatedAt);

/// <summary>The other side of a partnership as a viewer may know it: its id, slug and name, nothing else.</summary>
public sealed record PartnerOrganization(string Id, string Slug, string Name);
