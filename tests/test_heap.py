"""heap.py: importing impasto makes large tensors go back to the system when freed.

Each case runs in a fresh interpreter, since the tuning happens when impasto is
imported (before torch). The probe fragments the heap as a run's activations
do: it allocates twenty 10 MiB tensors, frees every other one, and reads how much
resident memory that gave back. glibc's own heap keeps such freed blocks (none
of them is at its top); mapped blocks are returned.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = """
import {first}
import torch
from impasto import heap

def resident_mib():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

# A larger block freed first lifts glibc's adaptive mmap threshold above 3 MiB, as the
# first scale's activations do in a run, so untuned the 10 MiB blocks come from the heap.
del_me = torch.ones(12 * 2**20 // 4)
del del_me
blocks = [torch.ones(10 * 2**20 // 4) for _ in range(20)]
before = resident_mib()
del blocks[1::2]
print(heap.state, os.environ.get("THP_MEM_ALLOC_ENABLE"))
print(before - resident_mib())
"""


def probe(first: str, **env: str) -> tuple[str, float]:
    ours = ("THP_MEM_ALLOC_ENABLE", "IMPASTO_HEAP", "MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES")
    environ = {k: v for k, v in os.environ.items() if k not in ours}
    code = "import os\n" + PROBE.format(first=first)
    out = subprocess.run([sys.executable, "-c", code], env={**environ, **env}, capture_output=True, text=True,
                         check=True).stdout.splitlines()
    return out[0], float(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's heap and /proc: Linux only")
def test_freed_large_tensors_go_back_to_the_system():
    state, given_back = probe("impasto")
    assert state.startswith("tuned") and state.endswith(" 1")  # and torch's huge pages asked for
    assert given_back > 80  # ten 10 MiB blocks: 100 MiB


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's heap and /proc: Linux only")
@pytest.mark.parametrize(("first", "env", "why"), [
    ("impasto", {"IMPASTO_HEAP": "system"}, "IMPASTO_HEAP=system"),
    # torch already allocating without huge pages: mapped blocks would be faulted in 4 KiB at a time.
    ("torch", {}, "torch was imported before impasto"),
    ("impasto", {"MALLOC_MMAP_THRESHOLD_": str(32 * 2**20)}, "the environment sets glibc's mmap threshold"),
])
def test_left_as_is_when_asked_or_when_torch_came_first_or_the_threshold_is_set(first, env, why):
    state, given_back = probe(first, **env)
    assert state.startswith("left as is") and why in state
    assert given_back < 25  # glibc keeps the freed blocks: the probe tells the two apart
