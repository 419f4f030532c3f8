using System.Buffers;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Application.Keys;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// The one pooled buffer that version parts are opened into (a delta's base blocks, an upload's blocks read back, a load's
/// column chunks): each part opens to its own bytes, a larger part grows the buffer, and what it held is zeroed before the
/// array goes back to the shared pool, where any other code may rent it next.
/// </summary>
public sealed class PlaintextBufferTests : IDisposable
{
    private readonly EscrowApp _app = new();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task PartsOpenToTheirOwnBytesAndNothingOfThemIsLeftInTheArraysGivenBackToThePool()
    {
        var org = await _app.SignupAsync("plaintext-buffer");
        using var cipher = await _app.Services.GetRequiredService<IKeyring>().ForOrganizationAsync(org.Id, CancellationToken.None);
        var small = RandomNumberGenerator.GetBytes(1_000);
        var large = RandomNumberGenerator.GetBytes(200_000); // past the buffer's first 64 KiB: it must grow
        var sealedSmall = cipher.Seal("test-label", "part-1", small);
        var sealedLarge = cipher.Seal("test-label", "part-2", large);

        // A pool of the test's own: the shared one may hand a returned array to a test running beside this one at once.
        var pool = ArrayPool<byte>.Create();
        var buffer = new PlaintextBuffer(pool: pool);
        Assert.Equal(small, buffer.Open(cipher, "test-label", "part-1", sealedSmall).ToArray());
        var first = buffer.AtLeast(0);
        Assert.Equal(large, buffer.Open(cipher, "test-label", "part-2", sealedLarge).ToArray());
        var second = buffer.AtLeast(0);
        Assert.NotSame(first, second);
        // The first array went back when the buffer grew: zeroed, though the pool may hand it to anyone now.
        Assert.All(first, b => Assert.Equal(0, b));
        buffer.Dispose();
        Assert.All(second, b => Assert.Equal(0, b));

        // A part opened under another id fails (the id is bound into the seal) rather than reading as data.
        using var other = new PlaintextBuffer();
        Assert.ThrowsAny<CryptographicException>(() => other.Open(cipher, "test-label", "part-9", sealedSmall).ToArray());
    }
}
