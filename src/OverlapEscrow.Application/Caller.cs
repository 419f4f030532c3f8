namespace OverlapEscrow.Application;

/// <summary>
/// Who asks: always one organization, and the actor as the audit log names it ("member:&lt;id&gt;", "api_key:&lt;id&gt;",
/// "schedule:&lt;id&gt;", "system:…"). Every use case scopes what it reads and writes to <see cref="OrganizationId"/>.
/// </summary>
public sealed record Caller(string OrganizationId, string Actor);
