using Microsoft.AspNetCore.Identity;

namespace OverlapEscrow.Api.Infrastructure;

/// <summary>
/// Checks the member password hashes made before Argon2id: ASP.NET Core Identity's v3 format (PBKDF2-HMAC-SHA512,
/// 100,000 iterations), through the platform's own hasher. They keep verifying until the member's next sign-in
/// replaces them with an Argon2id hash (Application.Accounts.Argon2idPasswordHasher).
/// </summary>
public sealed class PlatformPasswordHasher : Application.Accounts.ILegacyPasswordVerifier
{
    private readonly PasswordHasher<Subject> _hasher = new();

    /// <summary>A hash in the old format (tests make one to show the upgrade).</summary>
    public string Hash(string password) => _hasher.HashPassword(Subject.Instance, password);

    public bool Verify(string hash, string password)
    {
        try
        {
            return _hasher.VerifyHashedPassword(Subject.Instance, hash, password) != PasswordVerificationResult.Failed;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>The hasher's type parameter; it carries no data.</summary>
    public sealed class Subject
    {
        public static readonly Subject Instance = new();
    }
}
