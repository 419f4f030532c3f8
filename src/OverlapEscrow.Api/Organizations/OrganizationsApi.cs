using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Organizations;

namespace OverlapEscrow.Api.Organizations;

/// <summary>Deleting an organization (crypto-shredding, with a signed receipt) and the escrow's public signing key.</summary>
public static class OrganizationsApi
{
    public const string KeysPath = "/.well-known/overlap-escrow-keys.json";

    public static IEndpointRouteBuilder MapOrganizations(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/v1/organization/delete", Delete).WithTags("Accounts").RequireAuthorization(Policies.Admin)
            .WithName("DeleteOrganization")
            .WithSummary("Delete my organization for good: its data keys are destroyed, so every copy of its data, backups included, becomes unreadable")
            .WithDescription("Admins only; confirmSlug must be the organization's slug. Populations, versions, history, sharing rules, schedules, webhooks, members and API keys go; open partnerships end (the partner is told) and stay as tombstones so the partner keeps its audit evidence. The answer is a deletion receipt signed by the escrow (Ed25519): keep it, it verifies offline against " + KeysPath + ". Cannot be undone.");
        routes.MapGet(KeysPath, Keys).WithTags("Audit").AllowAnonymous()
            .WithName("EscrowSigningKeys")
            .WithSummary("The escrow's public signing key (JWK Set, Ed25519): what audit checkpoints and deletion receipts are verified with")
            .WithDescription("RFC 7517 JWK Set of OKP keys (RFC 8037); pem is the same key as SubjectPublicKeyInfo PEM, for openssl pkeyutl -verify -rawin.");
        return routes;
    }

    private static async Task<Results<Ok<SignedStatementResponse>, ProblemHttpResult>> Delete(DeleteOrganizationRequest request, CurrentUser user,
        OrganizationErasure erasure, CancellationToken ct)
    {
        var outcome = await erasure.DeleteAsync(user.Caller, request.ConfirmSlug, ct);
        return outcome.Failure is { } failure ? Problems.From(failure) : TypedResults.Ok(SignedStatementResponse.From(outcome.Value!));
    }

    private static Ok<JsonWebKeySet> Keys(EscrowSigner signer) =>
        // The key that signs now first, then the older ones (retired too): what they signed before a rotation still verifies.
        TypedResults.Ok(new JsonWebKeySet([.. signer.PublishedKeys.OrderByDescending(k => k.Current).ThenByDescending(k => k.Version)
            .Select(k => new JsonWebKey("OKP", "Ed25519", Base64Url(k.PublicKey), k.KeyId, "sig", "EdDSA", k.PublicKeyPem, k.Current ? null : k.Retired ? "retired" : "superseded"))]));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

public sealed record DeleteOrganizationRequest(string? ConfirmSlug);

/// <summary>
/// A statement signed by the escrow: <see cref="Statement"/> is the exact UTF-8 text signed (JSON), <see cref="Signature"/>
/// the Ed25519 signature in base64, <see cref="KeyId"/> the kid of the key in the well-known key set.
/// </summary>
public sealed record SignedStatementResponse(string Statement, string Signature, string KeyId)
{
    public static SignedStatementResponse From(SignedStatement s) => new(s.Statement, s.Signature, s.KeyId);

    public SignedStatement ToSigned() => new(Statement, Signature, KeyId);
}

/// <summary>A JWK Set (RFC 7517 §5).</summary>
public sealed record JsonWebKeySet(IReadOnlyList<JsonWebKey> Keys);

/// <summary>
/// An OKP public key (RFC 8037 §2), with its PEM form beside it, and for a key that no longer signs why not
/// (<c>superseded</c>: a newer key signs, this one's seed is still held; <c>retired</c>: its seed is destroyed).
/// </summary>
public sealed record JsonWebKey(string Kty, string Crv, string X, string Kid, string Use, string Alg, string Pem,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Status = null);
