using System.IdentityModel.Tokens.Jwt;
using System.Runtime.CompilerServices;
using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using OverlapEscrow.Api.Extensions;
using OverlapEscrow.Application.Keys;

namespace OverlapEscrow.Api.Infrastructure;

/// <summary>
/// Issues short-lived access tokens (JWT, HS256, RFC 7519) and opaque refresh tokens. Each signing key version has its
/// own kid ("escrow-&lt;version&gt;"): the newest signs, and every version still present validates, so a rotation
/// (`admin keys rotate-signing`) leaves tokens already issued valid until they expire.
/// </summary>
public sealed class TokenIssuer(EscrowSecrets keys, IOptions<EscrowOptions> options, TimeProvider time)
{
    public const string KidPrefix = "escrow-";

    /// <summary>
    /// The security key of a signing key version: one instance per <see cref="VersionedKey"/> (a version as read from its
    /// file), not one per request. IdentityModel finds its cached HMAC provider by the key's <c>InternalId</c>, a JWK
    /// thumbprint (SHA-256 of the key) that each new instance computes again on its first use; a fresh instance per
    /// validation paid for that thumbprint on every request. Keyed by the record instance, so a version whose file is
    /// read again (every 30 s, or a retired number made again) gets a key of its own bytes.
    /// </summary>
    public static SymmetricSecurityKey SecurityKey(VersionedKey key) =>
        SecurityKeys.GetValue(key, static k => new SymmetricSecurityKey(k.Key) { KeyId = KidPrefix + k.Version });

    private static readonly ConditionalWeakTable<VersionedKey, SymmetricSecurityKey> SecurityKeys = new();

    /// <summary>The validation keys for a token's kid: the version it names, when still present (no kid: none).</summary>
    public static IEnumerable<SecurityKey> ValidationKeys(EscrowSecrets keys, string? kid) =>
        kid is not null && kid.StartsWith(KidPrefix, StringComparison.Ordinal) && int.TryParse(kid[KidPrefix.Length..], out var version)
        && keys.Find(SecretKind.AccessTokenSigning, version) is { } key
            ? [SecurityKey(key)]
            : [];

    public TimeSpan AccessTokenLifetime => TimeSpan.FromMinutes(options.Value.AccessTokenMinutes);

    /// <summary>A member's access token, naming its session: ending the session (sign-out, a password change, a replayed refresh token) stops the token at once.</summary>
    public string AccessTokenForMember(string memberId, string organizationId, string role, string sessionId) =>
        Create([
            new Claim(EscrowClaims.Subject, memberId),
            new Claim(EscrowClaims.Organization, organizationId),
            new Claim(EscrowClaims.Kind, EscrowClaims.KindMember),
            new Claim(EscrowClaims.Role, role),
            new Claim(EscrowClaims.Session, sessionId),
        ]);

    public string AccessTokenForApiKey(string keyId, string organizationId, IEnumerable<string> scopes) =>
        Create([
            new Claim(EscrowClaims.Subject, keyId),
            new Claim(EscrowClaims.Organization, organizationId),
            new Claim(EscrowClaims.Kind, EscrowClaims.KindApiKey),
            new Claim(EscrowClaims.Scope, string.Join(' ', scopes)),
        ]);

    /// <summary>A new refresh token (256 random bits) and when it expires; it is stored only as its SHA-256.</summary>
    public (string Token, DateTimeOffset ExpiresAt) NewRefreshToken() =>
        (Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32)), time.GetUtcNow().AddDays(options.Value.RefreshTokenDays));

    private string Create(Claim[] claims)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var token = new JwtSecurityToken(
            issuer: EscrowClaims.Issuer,
            audience: EscrowClaims.Audience,
            claims: claims,
            notBefore: now,
            expires: now.Add(AccessTokenLifetime),
            signingCredentials: new SigningCredentials(SecurityKey(keys.CurrentSigningKey), SecurityAlgorithms.HmacSha256));
        return new JwtSecurityTokenHandler().WriteToken(token);
    }
}
