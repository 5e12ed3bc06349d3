"""How the process's C heap holds the network's activations (issue 14, memory).

A 512 px step allocates and frees ~600 MiB of activations and gradients. glibc's
malloc serves blocks up to 32 MiB from its heap once one such block has been
freed (its mmap threshold adapts upwards) and keeps freed heap blocks for reuse;
in a fragmented heap they are never given back, and they were about a quarter of
a default run's peak resident memory (bench/RESULTS.md, "Memory under 1 GiB").
Blocks from their own mapping go back to the system when freed, but a fresh
mapping is faulted in 4 KiB at a time: with every block from 64 KiB up mapped, a
512 px step was ~25% slower. Torch asks for transparent huge pages for its
allocations of 2 MiB and more when ``THP_MEM_ALLOC_ENABLE=1``, which cuts those
faults 512-fold; mapping only blocks of 8 MiB and more (the large activations)
then keeps the step time (see MMAP_THRESHOLD) and takes ~100 MiB off the peak
of a default 512 px run (bench/RESULTS.md, "The heap, and the histogram term by
default").

So importing impasto, before torch is imported, switches torch's huge pages on
and fixes glibc's mmap threshold, for the whole process. It is skipped where it
cannot help or could hurt: not glibc, torch imported before impasto without
``THP_MEM_ALLOC_ENABLE=1`` (mapped blocks without huge pages are the slow case),
``IMPASTO_HEAP=system`` in the environment (leave the allocator as it is), or an
mmap threshold the environment already sets (``MALLOC_MMAP_THRESHOLD_``, ``GLIBC_TUNABLES``).
Nothing here imports torch.
"""

from __future__ import annotations

import ctypes
import os
import sys
from typing import Any

#: glibc's mallopt parameter number for the mmap threshold (malloc.h: M_MMAP_THRESHOLD).
_M_MMAP_THRESHOLD = -3
#: Blocks from this size on are mapped (and returned when freed). 512 px single scale, histogram
#: term on, AVX2, one run each: peak 868 MiB / median step 2.90 s untuned; 2 MiB: 772 / 3.39;
#: 8 MiB: 802 / 2.91; 16 MiB: 824 / 2.98. Below 8 MiB the faults of the many mid-sized
#: blocks cost more than they give back.
MMAP_THRESHOLD = 8 * 1024 * 1024
#: Set to "system" to leave the C allocator and torch's huge pages as they are.
OPT_OUT = "IMPASTO_HEAP"
THP_VARIABLE = "THP_MEM_ALLOC_ENABLE"

#: Why the heap was or was not tuned (for diagnostics and tests).
state = "not prepared"


def _glibc_mallopt() -> Any:
    """glibc's mallopt, or None on another C library (musl, macOS, Windows)."""
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # only glibc has it  # noqa: B018
        return libc.mallopt
    except (OSError, AttributeError, TypeError):  # TypeError: Windows has no CDLL(None)
        return None


def prepare() -> str:
    """Tune the heap for large tensors once, if it is safe here; returns what was done."""
    global state
    if state != "not prepared":
        return state
    if os.environ.get(OPT_OUT, "").lower() == "system":
        state = f"left as is ({OPT_OUT}=system)"
        return state
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "mmap_threshold" in os.environ.get("GLIBC_TUNABLES", ""):
        state = "left as is (the environment sets glibc's mmap threshold)"
        return state
    mallopt = _glibc_mallopt()
    if mallopt is None:
        state = "left as is (not glibc)"
        return state
    if "torch" in sys.modules and os.environ.get(THP_VARIABLE) != "1":
        state = f"left as is (torch was imported before impasto, without {THP_VARIABLE}=1)"
        return state
    if os.environ.get(THP_VARIABLE, "1") != "1":
        state = f"left as is ({THP_VARIABLE} is off)"
        return state
    os.environ[THP_VARIABLE] = "1"  # read by torch at its first allocation, so before torch is imported
    if mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) != 1:
        state = "left as is (mallopt refused)"
        return state
    state = f"tuned (mmap threshold {MMAP_THRESHOLD >> 20} MiB, torch huge pages)"
    return state


prepare()
