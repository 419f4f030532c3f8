using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using OverlapEscrow.Api.Infrastructure;

namespace OverlapEscrow.Api.Extensions;

public static class AuthExtensions
{
    public static WebApplicationBuilder AddEscrowAuth(this WebApplicationBuilder builder)
    {
        builder.Services.AddHttpContextAccessor();
        builder.Services.AddScoped<CurrentUser>();
        builder.Services.AddSingleton<TokenIssuer>();
        builder.Services.AddSingleton<Overlaps.OverlapCursors>();

        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        builder.Services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<Application.Keys.EscrowSecrets, TimeProvider>((o, keys, time) =>
            {
                o.MapInboundClaims = false;
                o.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidIssuer = EscrowClaims.Issuer,
                    ValidAudience = EscrowClaims.Audience,
                    // Every signing key version still present validates the tokens it signed (by their kid).
                    IssuerSigningKeyResolver = (_, _, kid, _) => TokenIssuer.ValidationKeys(keys, kid),
                    ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
                    ClockSkew = TimeSpan.FromSeconds(30),
                    // Lifetimes are checked on the injected clock, the one TokenIssuer stamps them with (the
                    // library's own check reads the system clock).
                    LifetimeValidator = (notBefore, expires, _, p) =>
                    {
                        var now = time.GetUtcNow().UtcDateTime;
                        return expires is { } exp && now < exp.ToUniversalTime() + p.ClockSkew
                            && (notBefore is not { } nbf || nbf.ToUniversalTime() - p.ClockSkew <= now);
                    },
                    NameClaimType = EscrowClaims.Subject,
                    RoleClaimType = EscrowClaims.Role,
                };
                o.Events = new JwtBearerEvents { OnTokenValidated = StillValidAsync };
            });

        var authorization = builder.Services.AddAuthorizationBuilder();
        foreach (var policy in Policies.All)
        {
            var roles = Policies.RolesFor(policy);
            var scopes = Policies.ScopesFor(policy);
            authorization.AddPolicy(policy, p => p
                .RequireAuthenticatedUser()
                .RequireClaim(EscrowClaims.Organization)
                .RequireAssertion(ctx => Allows(ctx, roles, scopes)));
        }
        // Every endpoint names its policy or is marked anonymous (a test enumerates them); one that forgets is
        // closed to anonymous callers rather than open. A request that matched no endpoint of ours (an unknown path,
        // 404; a known path with another method, 405) still gets that answer: the routes are public in the OpenAPI
        // document, so answering 401 instead would hide nothing and only mislead.
        authorization.SetFallbackPolicy(new AuthorizationPolicyBuilder()
            .RequireAssertion(ctx => ctx.User.Identity?.IsAuthenticated == true
                || (ctx.Resource is HttpContext http && http.GetEndpoint() is not RouteEndpoint))
            .Build());
        return builder;
    }

    /// <summary>
    /// A signed token is not enough: the key must not be revoked, the member must still exist with the same role and
    /// organization, and the member's session must still be open. One indexed lookup per request makes revocation and role changes apply at once
    /// rather than when the access token expires.
    /// </summary>
    private static async Task StillValidAsync(TokenValidatedContext context)
    {
        var principal = context.Principal!;
        var services = context.HttpContext.RequestServices;
        var claims = EscrowClaimValues.Of(principal);
        var subject = claims.Subject ?? "";
        var organization = claims.Organization ?? "";
        var ct = context.HttpContext.RequestAborted;
        var valid = claims.Kind switch
        {
            EscrowClaims.KindApiKey => await services.GetRequiredService<Application.Accounts.ApiKeys>().StillValidAsync(subject, organization, ct),
            EscrowClaims.KindMember => await services.GetRequiredService<Application.Accounts.Accounts>()
                .MemberStillValidAsync(subject, organization, claims.Role, claims.Session, ct),
            _ => false,
        };
        if (!valid) context.Fail("The credential behind this token is no longer valid.");
    }

    private static bool Allows(AuthorizationHandlerContext ctx, IReadOnlyList<string> roles, IReadOnlyList<string> scopes)
    {
        var claims = EscrowClaimValues.Of(ctx.User);
        if (claims.Kind == EscrowClaims.KindMember)
            return claims.Role is { } role && roles.Contains(role);
        if (claims.Kind == EscrowClaims.KindApiKey)
        {
            var granted = (claims.Scope ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return granted.Any(scopes.Contains);
        }
        return false;
    }
}
