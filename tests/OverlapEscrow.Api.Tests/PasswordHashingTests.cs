using Microsoft.Extensions.Options;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Accounts;

namespace OverlapEscrow.Api.Tests;

/// <summary>Argon2id (RFC 9106) through BouncyCastle, checked against the reference implementation's vector.</summary>
public sealed class PasswordHashingTests
{
    private static Argon2idPasswordHasher Hasher(PasswordOptions? options = null) =>
        new(Options.Create(options ?? new PasswordOptions { MemoryKiB = 1024, Iterations = 1, Parallelism = 1 }), new PlatformPasswordHasher());

    [Fact]
    public void TheReferenceImplementationsArgon2idVectorVerifies()
    {
        // phc-winner-argon2 (the RFC 9106 reference implementation), src/test.c: "password", salt "somesalt", t=2, m=64 MiB, p=1.
        const string reference = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
        using var hasher = Hasher();
        Assert.True(hasher.Verify(reference, "password"));
        Assert.False(hasher.Verify(reference, "passwore"));
    }

    [Fact]
    public void TheDefaultsAreRfc9106sSecondRecommendedOption()
    {
        using var hasher = Hasher(new PasswordOptions());
        var hash = hasher.Hash("correct horse battery staple");
        Assert.StartsWith("$argon2id$v=19$m=65536,t=3,p=4$", hash);
        Assert.True(hasher.Verify(hash, "correct horse battery staple"));
        Assert.False(hasher.NeedsRehash(hash));
    }

    [Fact]
    public void WeakerOrLegacyHashesAreReportedForRehashAndForgedCostsAreRefused()
    {
        using var hasher = Hasher(new PasswordOptions());
        using var weak = Hasher();
        Assert.True(hasher.NeedsRehash(weak.Hash("a password of some length")));
        var legacy = new PlatformPasswordHasher().Hash("a password of some length");
        Assert.True(hasher.Verify(legacy, "a password of some length"));
        Assert.True(hasher.NeedsRehash(legacy));
        // A stored hash asking for 64 GiB must not be computed.
        Assert.False(hasher.Verify("$argon2id$v=19$m=67108864,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", "password"));
    }
}
