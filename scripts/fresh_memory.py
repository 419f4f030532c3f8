#!/usr/bin/env python3
"""What first-touching memory costs on this machine, and whether it depends on how long ago it was freed.

A cold overlap after a restart writes its columns (about 80 MB at 1M x 1M) into memory the new process has never
touched. On a virtual machine whose guest reports free pages back to its host (Linux free page reporting; this
machine's kernel command line says page_reporting.page_reporting_order=...), memory the guest has had free for a
while is no longer backed by the host, and touching it again costs a fault in the host as well as in the guest.

Each round maps SIZE MiB of anonymous memory, writes one byte per 4 KiB page (which makes the kernel allocate and
zero it), times that, counts the minor faults, and unmaps it. Rounds run one after another with the given pause
before each: with no pause the kernel tends to hand back the pages just freed; after a pause of several seconds
the free page reporting has had time to return them to the host. Baseline: writing the same mapping a second time
(already faulted in), which is what the same bytes cost when memory is not fresh.

Usage: python3 scripts/fresh_memory.py [--mib 80] [--pauses 0,0,5,0,10] [--huge] [--line WHAT]
--line prints one line for scripts/bench: the first pause's round beside the next round's (freed just before).
"""

import argparse
import mmap
import resource
import time

PAGE = 4096


def touch(buf: mmap.mmap, size: int) -> None:
    for offset in range(0, size, PAGE):
        buf[offset] = 1


def round_(size: int, huge: bool) -> tuple[float, int, float]:
    buf = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    if huge and hasattr(mmap, "MADV_HUGEPAGE"):
        buf.madvise(mmap.MADV_HUGEPAGE)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start = time.perf_counter()
    touch(buf, size)
    first = time.perf_counter() - start
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    start = time.perf_counter()
    touch(buf, size)
    again = time.perf_counter() - start
    buf.close()
    return first, faults, again


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=80)
    parser.add_argument("--pauses", default="0,0,5,0,10,0", help="seconds to wait before each round")
    parser.add_argument("--huge", action="store_true", help="ask for transparent huge pages (madvise)")
    parser.add_argument("--line", metavar="WHAT", help="one line for scripts/bench naming what the memory stands for")
    args = parser.parse_args()
    size = args.mib << 20
    if args.line:
        time.sleep(float(args.pauses.split(",")[0]))
        late, late_faults, _ = round_(size, args.huge)
        soon, _, again = round_(size, args.huge)
        print(f"  {'baseline: first touch of ' + str(args.mib) + ' MiB (' + args.line + ')':<62}{late * 1000:8.0f} ms   "
              f"freed {args.pauses.split(',')[0]} s before, {late_faults:,} faults; freed just before {soon * 1000:.0f} ms; "
              f"touched again {again * 1000:.1f} ms")
        return
    with open("/proc/cmdline") as f:
        reporting = [w for w in f.read().split() if w.startswith("page_reporting")]
    print(f"fresh memory: {args.mib} MiB a round, {'huge pages asked' if args.huge else '4 KiB pages'}; "
          f"kernel: {' '.join(reporting) or 'no page_reporting setting on the command line'}")
    for n, pause in enumerate(float(p) for p in args.pauses.split(",")):
        time.sleep(pause)
        first, faults, again = round_(size, args.huge)
        print(f"  round {n + 1}, after {pause:4.1f} s idle: first touch {first * 1000:7.1f} ms ({faults:6,} faults, "
              f"{first * 1e3 / args.mib:5.2f} ms/MiB)   baseline the same pages again {again * 1000:6.1f} ms   "
              f"({first / again:4.1f}x)")


if __name__ == "__main__":
    main()
