using System.IdentityModel.Tokens.Jwt;
using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using OverlapEscrow.Api.Extensions;
using OverlapEscrow.Application.Keys;

namespace OverlapEscrow.Api.Infrastructure;

/// <summary>Issues short-lived access tokens (JWT, HS256, RFC 7519) and opaque refresh tokens.</summary>
public sealed class TokenIssuer(EscrowSecrets keys, IOptions<EscrowOptions> options, TimeProvider time)
{
    public static SymmetricSecurityKey SecurityKey(EscrowSecrets keys) => new(keys.SigningKey) { KeyId = "escrow-1" };

    public TimeSpan AccessTokenLifetime => TimeSpan.FromMinutes(options.Value.AccessTokenMinutes);

    public string AccessTokenForMember(string memberId, string organizationId, string role) =>
        Create([
            new Claim(EscrowClaims.Subject, memberId),
            new Claim(EscrowClaims.Organization, organizationId),
            new Claim(EscrowClaims.Kind, EscrowClaims.KindMember),
            new Claim(EscrowClaims.Role, role),
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
            signingCredentials: new SigningCredentials(SecurityKey(keys), SecurityAlgorithms.HmacSha256));
        return new JwtSecurityTokenHandler().WriteToken(token);
    }
}
