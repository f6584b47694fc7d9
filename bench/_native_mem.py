"""Where a process's memory lives, beyond RSS: the kernel's split (anonymous vs
file-backed), glibc's allocator (in use vs held free), SQLite's own allocator.

Growth in RSS with flat Python objects can be the allocator holding freed
memory (fragmentation, per-thread arenas), SQLite's page caches, or a C leak;
these figures tell them apart. Linux + glibc only; a figure that cannot be read
is left out.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from pathlib import Path

MIB = 1024 * 1024


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost",
        )
    ]  # fmt: skip


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def _sqlite() -> ctypes.CDLL | None:
    import sqlite3  # noqa: F401  (loads the same libsqlite3 the store uses)

    try:
        lib = ctypes.CDLL(ctypes.util.find_library("sqlite3") or "libsqlite3.so.0")
    except OSError:
        return None
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    lib.sqlite3_memory_highwater.restype = ctypes.c_int64
    lib.sqlite3_memory_highwater.argtypes = [ctypes.c_int]
    return lib


_LIBC = _libc()
_SQLITE = _sqlite()


def smaps_rollup(pid: int | str = "self") -> dict[str, float]:
    """Rss / Anonymous / Rss_File ... of /proc/PID/smaps_rollup, in MiB."""
    figures: dict[str, float] = {}
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return figures
    for line in text.splitlines()[1:]:
        key, _, rest = line.partition(":")
        parts = rest.split()
        if len(parts) == 2 and parts[1] == "kB":
            figures[key.strip()] = int(parts[0]) / 1024
    return figures


def malloc_figures() -> dict[str, float]:
    """glibc mallinfo2 over all arenas, in MiB: ``in_use`` (allocated to the program),
    ``free`` (held by the allocator, not returned), ``mmapped`` (large blocks)."""
    if _LIBC is None or not hasattr(_LIBC, "mallinfo2"):
        return {}
    _LIBC.mallinfo2.restype = _MallInfo2
    info = _LIBC.mallinfo2()
    return {"heap": info.arena / MIB, "in_use": info.uordblks / MIB, "free": info.fordblks / MIB,
            "mmapped": info.hblkhd / MIB}  # fmt: skip


def malloc_trim() -> bool:
    """Give the allocator's free memory back to the kernel (all arenas)."""
    return bool(_LIBC is not None and _LIBC.malloc_trim(0))


def sqlite_figures() -> dict[str, float]:
    """SQLite's allocator, process-wide, in MiB (page caches, statements, schemas)."""
    if _SQLITE is None:
        return {}
    return {"used": _SQLITE.sqlite3_memory_used() / MIB, "highwater": _SQLITE.sqlite3_memory_highwater(0) / MIB}
