"""Which machine a figure came from: every table the bench prints names it.

The project's CPUs differ in what matters for speed: some are AVX2 only,
some have AVX-512 but no bf16 (an Intel Xeon whose hypervisor hides AMX and
AVX512-BF16: fp32 convolutions ~2.4x an AVX2 EPYC's, bf16 emulated), others have
native bf16 dot products: faster than fp32 on AMD Zen 4 and with AMX (where impasto's
``precision=auto`` uses them), slower than fp32 on an Intel core without AMX. A figure without its
CPU kind cannot be compared with another, so each printed table starts with
``stamp(command)``: date, CPU kind and model, cores, torch, command.
"""

from __future__ import annotations

import datetime
import os
import shlex
import sys
from pathlib import Path

import torch

from impasto.device import bf16_faster_in_cpu, bf16_in_cpu_flags

#: Each CPU kind's file-name word (bench/runs/DATE-WORD-MODE.md) and label.
KINDS = {"bf16": "bf16 CPU", "bf16slow": "AVX512-BF16 CPU without AMX (bf16 slower than fp32)",
         "avx512": "AVX-512 CPU (no bf16)", "avx2": "AVX2 CPU"}


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: no flags to read, so no claim of bf16
        return ""


def _flags() -> set[str]:
    flags: set[str] = set()
    for line in _cpuinfo().splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[1].split())
    return flags


def has_bf16() -> bool:
    """True where the CPU computes bf16 natively (not emulated): where the bench times bf16 too."""
    return bf16_in_cpu_flags(_cpuinfo())


def auto_bf16() -> bool:
    """True where impasto's ``precision=auto`` computes in bf16 (its bf16 is faster than fp32)."""
    return bf16_faster_in_cpu(_cpuinfo())


def model_name() -> str:
    for line in _cpuinfo().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    import platform

    return platform.processor() or platform.machine()


def slug() -> str:
    """The CPU kind as a file-name word: bf16, bf16slow, avx512 or avx2 (what sets a step's speed here)."""
    if has_bf16():
        return "bf16" if auto_bf16() else "bf16slow"
    return "avx512" if "avx512f" in _flags() else "avx2"


def kind() -> str:
    """One of KINDS' labels."""
    return KINDS[slug()]


def cpu_kind() -> str:
    """The CPU kind with the model name: the label every figure carries."""
    return f"{kind()} ({model_name()})"


def command_line() -> str:
    """The command that produced the figures, as typed from the repository root."""
    script = os.path.relpath(sys.argv[0], Path(__file__).resolve().parents[1])
    return shlex.join([".venv/bin/python", script, *sys.argv[1:]])


def stamp(command: str | None = None) -> dict[str, str]:
    """Date, machine and command of a measurement (what a results file stores beside it)."""
    return {
        "date": datetime.date.today().isoformat(),
        "cpu": cpu_kind(),
        "cores": str(os.cpu_count()),
        "torch": torch.__version__,
        "command": command or command_line(),
    }


def stamp_lines(info: dict[str, str]) -> list[str]:
    """The markdown lines that head a table."""
    return [f"- date: {info['date']}",
            f"- machine: {info['cpu']}, {info['cores']} cores, torch {info['torch']}",
            f"- command: `{info['command']}`"]
