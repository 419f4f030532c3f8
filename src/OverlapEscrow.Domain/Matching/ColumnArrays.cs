using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace OverlapEscrow.Domain.Matching;

/// <summary>
/// The large arrays a loaded version keeps (its token columns, tens of MB at a million records): allocated without
/// zeroing and, on Linux with OE_COLUMN_HUGE_PAGES=1, with the kernel asked to back them with transparent huge pages.
/// </summary>
/// <remarks>
/// A cold load writes every byte of these arrays once, and most of them are memory the process has never touched: on
/// the development machine (a virtual machine) the first write to a fresh 4 KB page costs far more than anything the
/// load computes (docs/performance.md, "Overlaps from stored columns"). With <c>transparent_hugepage/enabled</c> at
/// <c>madvise</c> (the common default) the runtime's arrays get 4 KB pages only; <c>madvise(MADV_HUGEPAGE)</c> on the
/// 2 MB-aligned interior of an array lets its first writes fault 2 MB at a time. The advice only marks the address range;
/// nothing is read or written, the contents are the same, and where it fails (another OS, THP disabled, no libc) the
/// array is used as it is. Only arrays of at least two huge pages are advised.
/// Off unless OE_COLUMN_HUGE_PAGES=1: measured under load it more than halved a cold load's page faults and took about
/// a tenth to a fifth off its CPU, but 4 of 14 bench runs with a full collection then paused 27–102 ms, against none over
/// 20 ms in 13 runs without it (docs/performance.md, "Overlaps from stored columns"). Until an idle run says whether
/// huge pages make the collector's release of freed columns slower, the pause guarantee comes first.
/// </remarks>
internal static class ColumnArrays
{
    private const int HugePage = 2 << 20;
    private const int MadvHugePage = 14;

    /// <summary>Whether large arrays are advised (OE_COLUMN_HUGE_PAGES=1 on Linux); settable for tests.</summary>
    internal static bool AdviseHugePages { get; set; } = OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable("OE_COLUMN_HUGE_PAGES") == "1";

    /// <summary>An array of <paramref name="length"/> elements, not zeroed: the caller writes every element before reading any.</summary>
    public static T[] Uninitialized<T>(int length) where T : unmanaged
    {
        var array = GC.AllocateUninitializedArray<T>(length);
        if (AdviseHugePages && (long)length * Unsafe.SizeOf<T>() >= 2L * HugePage) Advise(array);
        return array;
    }

    private static void Advise<T>(T[] array) where T : unmanaged
    {
        // Pinned only to read the address: the advice stays with the address range (a large array is not moved).
        var handle = GCHandle.Alloc(array, GCHandleType.Pinned);
        try
        {
            var address = handle.AddrOfPinnedObject();
            var start = (address + HugePage - 1) & ~(nint)(HugePage - 1);
            var end = (address + (nint)((long)array.Length * Unsafe.SizeOf<T>())) & ~(nint)(HugePage - 1);
            if (end > start) _ = Native.Madvise(start, (nuint)(end - start), MadvHugePage);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            AdviseHugePages = false;
        }
        finally
        {
            handle.Free();
        }
    }

    private static class Native
    {
        // A failure (EINVAL where THP is compiled out or disabled) leaves the range as it was: nothing to handle.
        [DllImport("libc", EntryPoint = "madvise")]
        public static extern int Madvise(nint address, nuint length, int advice);
    }
}
