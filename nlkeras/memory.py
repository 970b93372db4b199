"""The process's resident memory, read from Linux's /proc: now, and the peak since a reset.

Benchmarks and memory tests reset the peak (the kernel's `VmHWM`) at the start
of a phase, so each phase reports its own high-water mark.
"""

import os


def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    raise OSError(f"/proc/self/status has no {field} (Linux only)")


def resident_bytes():
    """Resident set size now."""
    return 1024 * _status_kib("VmRSS")


def peak_resident_bytes():
    """Highest resident set size since the start or the last `reset_peak()`."""
    return 1024 * _status_kib("VmHWM")


def reset_peak():
    """Starts a new high-water mark at the current resident size (writes 5 to clear_refs)."""
    with open(f"/proc/{os.getpid()}/clear_refs", "w") as f:
        f.write("5")
