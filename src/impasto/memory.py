"""Handing freed memory back to the system between optimisation steps (glibc only).

Why: a step at 512 px allocates and frees ~500 MB of activations and gradients,
while a few small tensors that outlive it (the L-BFGS pair, the best picture, the
gradient) are allocated between them. glibc's allocator then keeps the freed
space in its heap, fragmented, and a run's resident memory creeps up step after
step (measured on the Scream at 512 px, AVX2 CPU: from 913 to 1068 MiB over the
last scale's 16 steps with the live tensors unchanged). ``malloc_trim`` after a
step returns the free pages: peak 977-982 MiB against 1059-1091, for about 3% of
the time (bench/RESULTS.md). Other C libraries (macOS, Windows, musl) and GPUs
(torch's own caching allocator) are left alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

#: Pictures smaller than this (pixels) are not worth a trim: their steps are short, so the
#: trim's own cost (a walk over the heap, ~20 ms) would show, and their memory is small.
TRIM_PIXELS = 360 * 360


@functools.cache
def _trim() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


def release(pixels: int, device_type: str) -> None:
    """Return the C heap's free pages to the system after a step on ``pixels`` pixels."""
    if device_type != "cpu" or pixels < TRIM_PIXELS:
        return
    trim = _trim()
    if trim is not None:
        trim(0)
