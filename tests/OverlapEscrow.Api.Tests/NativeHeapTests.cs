using System.Runtime.InteropServices;
using OverlapEscrow.Api.Hosting;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// The idle release also hands the C allocator's free pages back (<see cref="NativeHeap.Trim"/>, glibc's malloc_trim):
/// after a large upload its arenas kept 15–20 MiB, mostly free (docs/performance.md, "Uploads"). If the call were
/// misnamed or bound to the wrong library it would quietly do nothing; this holds it to working where the service runs.
/// </summary>
public sealed class NativeHeapTests
{
    [Fact]
    public void OnLinuxWithGlibcTheIdleReleaseReachesTheNativeAllocatorsTrim()
    {
        var glibc = OperatingSystem.IsLinux() && !RuntimeInformation.RuntimeIdentifier.Contains("musl", StringComparison.Ordinal);
        Assert.Equal(glibc, NativeHeap.Trim());
        Assert.Equal(glibc, NativeHeap.Trim()); // and again: nothing is used up by a call
    }
}
