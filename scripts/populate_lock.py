#!/usr/bin/env python3
"""How long another thread's mprotect waits while one thread faults fresh memory in with MADV_POPULATE_WRITE.

A cold load faults its column arrays in ahead (ColumnArrays: madvise(MADV_POPULATE_WRITE), tens of MB of memory the
process has never touched). The kernel holds the process's memory-map lock (for reading) through such a call, and a
garbage collection commits memory with mprotect, which takes the same lock for writing: with every managed thread
stopped, the collection then waits until the populate returns. This measures that wait, populating the whole range in
one call (what ColumnArrays did) against one call per 2 MiB huge page's range (what it does now), alternately.

Each round maps SIZE MiB of fresh anonymous memory advised for huge pages, starts a thread that flips the protection
of one unrelated page in a loop (each call timed, as a collection's commit would be), populates the range, and prints
the populate's duration and the longest and total time the other thread's mprotect calls took meanwhile.

Usage: python3 scripts/populate_lock.py [--mib 32] [--rounds 4] [--pause 3]
"""

import argparse
import ctypes
import mmap
import threading
import time

MADV_HUGEPAGE = 14
MADV_POPULATE_WRITE = 23
PROT_READ, PROT_WRITE = 1, 2
HUGE = 2 << 20

libc = ctypes.CDLL("libc.so.6", use_errno=True)
libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]


def address(buf: mmap.mmap) -> int:
    return ctypes.addressof(ctypes.c_char.from_buffer(buf))


def round_(size: int, chunked: bool) -> tuple[float, float, float, int]:
    buf = mmap.mmap(-1, size + HUGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    other = mmap.mmap(-1, 4096, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    base = (address(buf) + HUGE - 1) & ~(HUGE - 1)
    page = address(other)
    libc.madvise(base, size, MADV_HUGEPAGE)
    waits: list[float] = []
    stop = threading.Event()

    def flip() -> None:
        prot = PROT_READ
        while not stop.is_set():
            start = time.perf_counter()
            libc.mprotect(page, 4096, prot)  # ctypes releases the GIL for the call
            waits.append(time.perf_counter() - start)
            prot = PROT_READ | PROT_WRITE if prot == PROT_READ else PROT_READ
            time.sleep(0.0005)

    flipper = threading.Thread(target=flip)
    flipper.start()
    time.sleep(0.01)
    start = time.perf_counter()
    if chunked:
        for offset in range(0, size, HUGE):
            libc.madvise(base + offset, min(HUGE, size - offset), MADV_POPULATE_WRITE)
    else:
        libc.madvise(base, size, MADV_POPULATE_WRITE)
    populate = time.perf_counter() - start
    time.sleep(0.01)
    stop.set()
    flipper.join()
    del page
    other.close()
    buf.close()
    return populate, max(waits), sum(w for w in waits if w > 0.001), len(waits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--pause", type=float, default=3.0, help="seconds before each round (so the memory is fresh to the host too)")
    args = parser.parse_args()
    for i in range(args.rounds):
        for chunked in (False, True):
            time.sleep(args.pause)
            populate, longest, over, calls = round_(args.mib << 20, chunked)
            how = "per 2 MiB" if chunked else "one call "
            print(f"round {i + 1} {how}: populate {populate * 1000:6.1f} ms; other thread's mprotect: longest {longest * 1000:6.1f} ms, "
                  f"{over * 1000:6.1f} ms in calls over 1 ms ({calls} calls)")


if __name__ == "__main__":
    main()
