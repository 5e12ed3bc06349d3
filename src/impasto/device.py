"""Choosing where and in what precision to compute."""

from __future__ import annotations

import functools
from pathlib import Path

import torch

from .errors import InputError


def pick(name: str) -> torch.device:
    """``auto`` -> cuda, then mps, then cpu; an explicit device must exist."""
    has_mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if has_mps else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA GPU is available here (try --device auto or cpu)")
    if name == "mps" and not has_mps:
        raise InputError("--device mps: Apple's Metal backend is not available here (try --device cpu)")
    if name not in ("cpu", "cuda", "mps"):
        raise InputError(f"unknown device {name!r}: use auto, cpu, cuda or mps")
    return torch.device(name)


@functools.cache
def cpu_has_fast_bf16() -> bool:
    """True where the CPU has native bf16 dot products (AVX512-BF16 or AMX).

    Without them PyTorch emulates bf16 and convolutions get slower, not faster.
    """
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def use_bf16(precision: str, device: torch.device) -> bool:
    if precision == "fp32":
        return False
    if device.type == "cuda":
        fast = torch.cuda.is_bf16_supported()
    elif device.type == "cpu":
        fast = cpu_has_fast_bf16()
    else:
        fast = False  # MPS: bf16 autocast support is patchy; stay in fp32
    if precision == "bf16":
        return device.type in ("cuda", "cpu")  # asked for explicitly: honour it where it runs
    return fast
