using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace OverlapEscrow.Domain.Matching;

/// <summary>
/// The large arrays a loaded version keeps (its token columns, tens of MB at a million records): allocated without
/// zeroing and, on Linux, their memory faulted in before they are written — with transparent huge pages where the
/// kernel can give them — in one system call per 2 MB, not one page fault per 4 KB page as the copy writes them.
/// </summary>
/// <remarks>
/// A cold load writes every byte of these arrays once, and most of them are memory the process has never touched: on
/// the development machine (a virtual machine with shadow page tables) each 4 KB page fault costs about 14 µs of CPU,
/// more than anything the load computes (docs/performance.md, "Overlaps from stored columns"). With
/// <c>transparent_hugepage/enabled</c> at <c>madvise</c> (the common default) the runtime's arrays get 4 KB pages only.
/// So, for an array of at least 512 KB: <c>madvise(MADV_HUGEPAGE)</c> on the 2 MB-aligned range it lies in,
/// <c>madvise(MADV_POPULATE_WRITE)</c> on all its pages, one 2 MB range a call (faulted in as if written, contents
/// untouched: 2 MB at a time where the kernel can), then <c>madvise(MADV_NOHUGEPAGE)</c> on the range again.
/// <para>
/// Why the mark is taken off at once: the array's memory goes back to the garbage collector one day, and a range left
/// marked would make the runtime's later first touches there (other objects, written by managed code) fault 2 MB at a
/// time — with <c>defrag</c> at <c>madvise</c>, possibly compacting memory synchronously — while a collection waits for
/// that thread to reach a safe point: the likeliest cause of the 27–102 ms pauses seen when the mark stayed (the
/// OE_COLUMN_HUGE_PAGES=1 of 2026-12-01). Huge pages already there stay; the mark only decides later faults. And the
/// faults themselves happen inside the system call, where a collection does not wait for the thread, not in the copy.
/// </para>
/// Nothing is read or written by the advice, so the arrays hold exactly what is written; where it fails (another OS,
/// THP disabled, a kernel before 5.14 without MADV_POPULATE_WRITE, no libc) the array is used as it is and the copy's
/// first writes fault its pages. OE_COLUMN_HUGE_PAGES=0 turns it off.
/// </remarks>
internal static class ColumnArrays
{
    private const int HugePage = 2 << 20;
    private const int SmallPage = 4096;
    private const int MadvHugePage = 14;
    private const int MadvNoHugePage = 15;
    private const int MadvPopulateWrite = 23;

    /// <summary>Whether large arrays are faulted in ahead, with huge pages (on Linux unless OE_COLUMN_HUGE_PAGES=0); settable for tests.</summary>
    internal static bool AdviseHugePages { get; set; } = OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable("OE_COLUMN_HUGE_PAGES") != "0";

    /// <summary>An array of <paramref name="length"/> elements, not zeroed: the caller writes every element before reading any.</summary>
    public static T[] Uninitialized<T>(int length) where T : unmanaged
    {
        var array = GC.AllocateUninitializedArray<T>(length);
        if (AdviseHugePages && (long)length * Unsafe.SizeOf<T>() >= MinimumBytes) Populate(array, length);
        return array;
    }

    /// <summary>An array of <paramref name="length"/> elements, all zero (its pages faulted in first, then cleared).</summary>
    public static T[] Zeroed<T>(int length) where T : unmanaged
    {
        var array = Uninitialized<T>(length);
        Array.Clear(array);
        return array;
    }

    /// <summary>
    /// An array of at least <paramref name="length"/> elements from the shared pool (contents as the pool gives them), its
    /// pages faulted in ahead like a column's when large: a computation's working arrays (the match's pairs) in a process
    /// that has not computed before are fresh memory too — about a third of a cold overlap's 4 KB faults after a restart
    /// (docs/performance.md, "Fresh memory on this machine"). Only the <paramref name="length"/> elements asked for: the pool
    /// rounds up to a power of two, and most callers write only what they asked for (a growing buffer that fills the rest —
    /// the match's pair buffer, the name look-ups — has that rest faulted in page by page as it writes it; no byte differs). An array the pool
    /// hands back again has its pages already, and faulting in changes no byte, so the advice then costs only its system calls.
    /// </summary>
    public static T[] Rent<T>(int length) where T : unmanaged
    {
        var array = System.Buffers.ArrayPool<T>.Shared.Rent(length);
        if (AdviseHugePages && (long)length * Unsafe.SizeOf<T>() >= MinimumBytes) Populate(array, length);
        return array;
    }

    /// <summary>Arrays from 512 KB (a record flag at half a million records) are faulted in ahead; smaller ones as they are written.</summary>
    private const long MinimumBytes = 512 << 10;

    private static void Populate<T>(T[] array, int length) where T : unmanaged
    {
        // Pinned while the kernel faults its pages in (a large array is not moved anyway; the pin makes the address a fact).
        var handle = GCHandle.Alloc(array, GCHandleType.Pinned);
        try
        {
            var address = handle.AddrOfPinnedObject();
            var bytes = (nint)((long)length * Unsafe.SizeOf<T>());
            // The huge pages the array touches, its first and last shared with whatever lies beside it (the mark changes no
            // byte; the neighbours' pages not yet there come as part of a huge page, zeroed as a fresh 4 KB page would be).
            // Where a 2 MB range already has pages, or is not all committed, the kernel gives it 4 KB pages as before.
            var start = address & ~(nint)(HugePage - 1);
            var end = (address + bytes + HugePage - 1) & ~(nint)(HugePage - 1);
            _ = Native.Madvise(start, (nuint)(end - start), MadvHugePage);
            // The array's own pages only; faulting a page in changes no byte of it. One huge page's range at a time: the
            // kernel holds the process's memory-map lock for the whole of each call, and a collection that commits memory
            // (mprotect, with every thread stopped) waits for that lock: a restart's collection that began during one call over
            // tens of MB of fresh memory paused until the call returned (docs/performance.md, "A restart's first overlap: the match's
            // fresh memory, the data keys, what the collections wait for"). Between two calls a waiting writer gets the lock.
            var first = address & ~(nint)(SmallPage - 1);
            var last = (address + bytes + SmallPage - 1) & ~(nint)(SmallPage - 1);
            foreach (var (from, to) in HugePageSteps(first, last)) _ = Native.Madvise(from, (nuint)(to - from), MadvPopulateWrite);
            // Whatever the first call answered: where the range has a hole it fails with ENOMEM yet marks the rest.
            _ = Native.Madvise(start, (nuint)(end - start), MadvNoHugePage);
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

    /// <summary>[first, last) cut at every 2 MB boundary, in order: each piece within one huge page's range.</summary>
    internal static IEnumerable<(nint From, nint To)> HugePageSteps(nint first, nint last)
    {
        for (var from = first; from < last;)
        {
            var to = Math.Min((from + HugePage) & ~(nint)(HugePage - 1), last);
            yield return (from, to);
            from = to;
        }
    }

    private static class Native
    {
        // A failure (EINVAL where THP is compiled out or disabled, or MADV_POPULATE_WRITE unknown) leaves the range as it
        // was: nothing to handle.
        [DllImport("libc", EntryPoint = "madvise")]
        public static extern int Madvise(nint address, nuint length, int advice);
    }
}
