using System.Runtime.InteropServices;

namespace OverlapEscrow.Api.Hosting;

/// <summary>
/// The C library's allocator (malloc), which SQLite's page caches, OpenSSL and the runtime's own native data use. After an
/// upload its per-thread arenas keep the memory they grew to, mostly free (about 15–20 MiB after a million-record upload,
/// docs/performance.md, "Uploads"): glibc gives back only the free top of the main heap by itself.
/// <see cref="Trim"/> asks it to return every free page of every arena to the system (<c>malloc_trim(0)</c>, glibc 2.8 and
/// later). Elsewhere (another C library, another system) it does nothing.
/// </summary>
internal static class NativeHeap
{
    private static bool _unavailable = !OperatingSystem.IsLinux();

    /// <summary>Returns the allocator's free pages to the system; false where there is no <c>malloc_trim</c> to ask.</summary>
    public static bool Trim()
    {
        if (_unavailable) return false;
        try
        {
            MallocTrim(0);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _unavailable = true; // musl (Alpine) has no malloc_trim; its allocator returns memory by itself
            return false;
        }
    }

    [DllImport("libc", EntryPoint = "malloc_trim", ExactSpelling = true)]
    private static extern int MallocTrim(nuint pad);
}
