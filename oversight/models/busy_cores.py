"""How many CPU cores other processes keep busy, so the embedded model can leave them alone.

llama.cpp's worker threads meet at a barrier after every operation; when another process holds one of the
cores, the thread that lands there is descheduled and the others spin waiting for it, and throughput collapses
(bench/RESULTS.md: 2 threads beside a busy neighbour generate a tenth as fast as 1 thread). `BusyCores` reads
the machine's CPU time (/proc/stat) and this process's own (`os.times`) and reports the difference.
"""

from __future__ import annotations

import math
import os

#: a measurement window shorter than this says too little; the previous answer is kept
MIN_WINDOW = 0.5
#: cores busier than this (in cores' worth of time) count as taken
BUSY_MARGIN = 0.25


def _machine_busy_seconds() -> tuple[float, float] | None:
    """(busy CPU seconds, all CPU seconds) summed over the machine's CPUs, or None where /proc/stat is absent."""
    try:
        with open("/proc/stat", "rb") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != b"cpu":
        return None
    # user nice system idle iowait irq softirq steal (guest time is already inside user)
    ticks = [int(v) for v in fields[1:9]]
    hz = os.sysconf("SC_CLK_TCK")
    busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6] + ticks[7]
    return busy / hz, sum(ticks) / hz


class BusyCores:
    """`threads(usable)`: how many threads to run now, `usable` minus the cores others kept busy lately."""

    def __init__(self) -> None:
        self._last: tuple[float, float, float] | None = None  # (machine busy s, machine total s, our CPU s)
        self._others = 0.0
        self.available = _machine_busy_seconds() is not None

    def others(self) -> float:
        """Cores' worth of CPU time other processes used since the last call that had a long enough window."""
        machine = _machine_busy_seconds()
        if machine is None:
            return 0.0
        t = os.times()
        now = (machine[0], machine[1], t.user + t.system)
        if self._last is None:
            self._last = now
            return self._others
        busy, total, ours = (a - b for a, b in zip(now, self._last, strict=True))
        cpus = os.cpu_count() or 1
        wall = total / cpus
        if wall < MIN_WINDOW:
            return self._others
        self._last = now
        self._others = max(0.0, (busy - ours) / wall)
        return self._others

    def threads(self, usable: int) -> int:
        """Threads to use: `usable` minus every core others kept busier than `BUSY_MARGIN`, at least 1."""
        taken = max(0, math.ceil(self.others() - BUSY_MARGIN))
        return max(1, usable - taken)
