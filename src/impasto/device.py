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
    """True where bf16 convolutions outrun fp32 ones on this CPU (see :func:`bf16_faster_in_cpu`).

    Elsewhere PyTorch's bf16 is emulated, or no faster than fp32, and only loses precision.
    """
    try:
        return bf16_faster_in_cpu(Path("/proc/cpuinfo").read_text())
    except OSError:
        return False


def bf16_in_cpu_flags(cpuinfo: str) -> bool:
    """Whether /proc/cpuinfo text lists a native bf16 instruction set (AVX512-BF16 or AMX)."""
    flags = set(cpuinfo.split())
    return "avx512_bf16" in flags or "amx_bf16" in flags


def bf16_faster_in_cpu(cpuinfo: str) -> bool:
    """Whether /proc/cpuinfo text describes a CPU whose bf16 convolutions beat its fp32 ones.

    AMX does, and AVX512-BF16 on AMD's cores: a Zen 4 EPYC ran VGG-19's convolutions at
    342 GFLOP/s in bf16 against 175 in fp32 (bench/RESULTS.md). AVX512-BF16 alone on an
    Intel core does not: its bf16 dot products run at the rate of its fp32 multiply-adds,
    plus conversions, and a Xeon whose hypervisor hides AMX ran them at 134-150 GFLOP/s
    in bf16 against 216-251 in fp32, a default step 1.6x slower. So an Intel CPU (or
    any other vendor's, unmeasured) without AMX computes in fp32.
    """
    flags = set(cpuinfo.split())
    if "amx_bf16" in flags:
        return True
    return "avx512_bf16" in flags and "AuthenticAMD" in flags


def cuda_has_native_bf16(dev: torch.device) -> bool:
    """True where the GPU computes bf16 in hardware (compute capability 8.0, Ampere, and up).

    ``torch.cuda.is_bf16_supported()`` also says yes where bf16 is only emulated
    (older GPUs), where it is slower than fp32 and no more accurate.
    """
    major, _ = torch.cuda.get_device_capability(dev)
    return major >= 8


def use_bf16(precision: str, device: torch.device) -> bool:
    """Whether a run autocasts the network to bf16.

    ``auto`` uses bf16 only where the hardware is native at it: a GPU of compute
    capability 8.0 or newer, a CPU whose bf16 convolutions are faster (AMX, or
    AVX512-BF16 on AMD: :func:`bf16_faster_in_cpu`). Elsewhere fp32 (an
    fp16 path would need a loss scaler for the tiny Gram gradients, and fp32 is
    what those machines are fast at anyway). An explicit ``bf16`` is honoured
    wherever it runs (emulated, and slow, without native support).
    """
    if precision == "fp32":
        return False
    if precision == "bf16":
        return device.type in ("cuda", "cpu")
    if device.type == "cuda":
        return cuda_has_native_bf16(device)
    if device.type == "cpu":
        return cpu_has_fast_bf16()
    return False  # MPS: bf16 autocast support is patchy; stay in fp32


def bf16_warning(precision: str, device: torch.device) -> str | None:
    """What a user asking for ``precision`` on ``device`` should know, or None.

    An explicit ``bf16`` is honoured on a CPU or GPU that is not fast at it (emulated, or
    no faster than fp32 as far as measured), but it is a slower run for a less precise picture;
    on Apple's MPS it is not used at all.
    """
    if precision != "bf16":
        return None
    if device.type == "mps":
        return "bf16 is not used on Apple's MPS: computing in fp32"
    if device.type == "cpu" and not cpu_has_fast_bf16():
        return ("bf16 is not known to be faster than fp32 on this CPU (emulated, or no AMX) and is less "
                "precise: precision auto (the default) computes in fp32 here")
    if device.type == "cuda" and not cuda_has_native_bf16(device):
        return ("bf16 is emulated on this GPU (compute capability below 8.0), slower than fp32 and less "
                "precise: precision auto (the default) computes in fp32 here")
    return None
