namespace OverlapEscrow.Data.Accounts;

public sealed class OrganizationRow
{
    public string Id { get; init; } = "";
    public string Slug { get; init; } = "";
    public string Name { get; init; } = "";
    public byte[] WrappedKey { get; init; } = [];
    public long CreatedAt { get; init; }
}

public sealed class MemberRow
{
    public string Id { get; init; } = "";
    public string OrganizationId { get; init; } = "";
    public string Email { get; init; } = "";
    public string DisplayName { get; init; } = "";
    public string PasswordHash { get; init; } = "";
    public string Role { get; init; } = "";
    public long CreatedAt { get; init; }
}

public sealed class ApiKeyRow
{
    public string Id { get; init; } = "";
    public string OrganizationId { get; init; } = "";
    public string Name { get; init; } = "";
    public byte[] SecretHash { get; init; } = [];
    public string Scopes { get; init; } = "";
    public long CreatedAt { get; init; }
    public string CreatedBy { get; init; } = "";
    public long? LastUsedAt { get; init; }
    public long? RevokedAt { get; init; }
}
