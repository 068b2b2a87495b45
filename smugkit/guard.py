"""Memory guard: allocations driven by a model or an input are estimated first and refused above a limit.

The limit is ``SMUGKIT_MAX_BYTES`` (bytes, or with a K/M/G suffix; the CLI's ``--max-memory`` sets it) when
set, else half of the memory the machine has available when smugkit is imported. Refusing with a `ResourceError` that names the tensor and its
size beats a MemoryError deep inside numpy, or a machine that swaps.
"""

from __future__ import annotations

import os

from smugkit.errors import InputError, ResourceError

_SUFFIX = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def _available() -> int:
    """Bytes of memory available now (MemAvailable on Linux; physical memory elsewhere)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def parse_bytes(text: str, what: str = "a memory size") -> int:
    """A positive number of bytes from ``text``: digits with an optional K/M/G/T unit (powers of 1024; a
    trailing ``B`` or ``iB`` is allowed), e.g. ``2000000000``, ``512M``, ``1.5G``, ``2GiB``."""
    raw = str(text).strip()
    body = raw.upper().removesuffix("IB").removesuffix("B").strip() if raw[-1:] in "bB" else raw.upper()
    unit = _SUFFIX.get(body[-1:], 1)
    number = body[:-1] if body[-1:] in _SUFFIX else body
    try:
        value = float(number.strip())
    except ValueError:
        value = float("nan")
    if not (value * unit >= 1) or value * unit == float("inf"):  # also catches NaN
        raise InputError(f"{what}={raw!r} is not a positive number of bytes (e.g. 2000000000, 512M or 2G)")
    return int(value * unit)


def set_max_bytes(text: str | int) -> int:
    """Set the limit for this process and the workers it starts (as ``SMUGKIT_MAX_BYTES``); the bytes set."""
    n = parse_bytes(str(text), "--max-memory")
    os.environ["SMUGKIT_MAX_BYTES"] = str(n)
    return n


def max_bytes() -> int:
    """The current limit in bytes."""
    raw = os.environ.get("SMUGKIT_MAX_BYTES", "").strip()
    return parse_bytes(raw, "SMUGKIT_MAX_BYTES") if raw else _DEFAULT


def human(n: float) -> str:
    """Bytes in a readable unit."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} TiB"


def nbytes(shape, itemsize: int = 8, count: int = 1) -> int:
    """Bytes of ``count`` arrays of ``shape`` (Python ints: no overflow on absurd shapes)."""
    size = 1
    for d in shape:
        size *= max(0, int(d))
    return size * itemsize * count


def check_bytes(n: int, what: str) -> None:
    """Refuse an allocation of ``n`` bytes above the limit, naming what it is for."""
    limit = max_bytes()
    if n > limit:
        raise ResourceError(
            f"{what} needs {human(n)}, above the memory limit of {human(limit)} "
            f"(set --max-memory or SMUGKIT_MAX_BYTES to change it)"
        )


def check_shape(shape, what: str, itemsize: int = 8, count: int = 1) -> None:
    """Refuse ``count`` float64 (by default) arrays of ``shape`` above the limit."""
    check_bytes(nbytes(shape, itemsize, count), f"{what} of shape {[int(d) for d in shape]}")


_DEFAULT = _available() // 2
