using Microsoft.AspNetCore.Identity;

namespace OverlapEscrow.Api.Infrastructure;

/// <summary>
/// Member passwords through ASP.NET Core Identity's hasher (PBKDF2-HMAC-SHA512, 100,000 iterations, v3 format): the
/// platform's, not one written here.
/// </summary>
public sealed class PlatformPasswordHasher : Application.Accounts.IPasswordHasher
{
    private readonly PasswordHasher<Subject> _hasher = new();

    public string Hash(string password) => _hasher.HashPassword(Subject.Instance, password);

    public bool Verify(string hash, string password) =>
        _hasher.VerifyHashedPassword(Subject.Instance, hash, password) != PasswordVerificationResult.Failed;

    /// <summary>The hasher's type parameter; it carries no data.</summary>
    public sealed class Subject
    {
        public static readonly Subject Instance = new();
    }
}
