"""Where a default step's time goes (issue 14, item 2): torch.profiler over steps at one scale.

    .venv/bin/python bench/profile_step.py                    # 512x384, fp32, then bf16 on a bf16 CPU
    .venv/bin/python bench/profile_step.py --precision bf16   # bf16 anyway (emulated on an AVX2 CPU: slow)
    .venv/bin/python bench/profile_step.py --size 128 --steps 2 --top 10   # a smoke test

The run is a default one (the Tübingen photo as The Starry Night, the default
StyleConfig: histogram and palette terms, L-BFGS preconditioned), cut down to one
scale: a few warm-up steps, then ``--steps`` profiled L-BFGS steps. Printed per
precision: the median step, the profiled ops grouped into kinds (the network's
convolutions forward and backward, ReLU, max pooling, the Grams' products, the
histogram's sorts, layout and dtype copies, L-BFGS's vector work, ...) with their share
of the step, and the ops with the most self time. The per-step figures include the
scale's closing forward pass (the loop scores the last step's picture without a
gradient), a quarter of a pass over the default 4 steps. Self time is that of each
op's calling thread, so the shares are what to compare. Every table names its CPU kind (bench/machine.py).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

# impasto first: its heap tuning must precede torch, as in a real run (machine imports torch).
import impasto  # noqa: E402, I001
import torch  # noqa: E402
from impasto import image as im, pipeline, schedule  # noqa: E402
from impasto.loop import optimise  # noqa: E402
from impasto.objective import Objective  # noqa: E402

import machine  # noqa: E402

EXAMPLES = HERE.parent / "src" / "impasto" / "examples"

#: Op name fragments -> kind, first match wins (profiler names: aten::..., autograd nodes' ...Backward0).
KINDS = (
    ("conv backward", ("convolution_backward", "ConvolutionBackward", "conv2d_backward")),
    ("conv forward", ("mkldnn_convolution", "_convolution", "conv2d", "convolution")),
    ("max pool", ("max_pool", "MaxPool")),
    ("ReLU", ("relu", "Relu", "threshold")),
    ("Gram products", ("bmm", "_SelfProduct")),
    ("sorts and indexing (histogram, palette)", ("sort", "argsort", "scatter", "gather", "index")),
    ("layout and dtype copies", ("copy_", "_to_copy", "contiguous", "clone", "to_dense", "reorder")),
    ("fills and allocation", ("fill_", "zero_", "empty", "zeros", "ones")),
    ("L-BFGS and loss arithmetic", ("dot", "aten::add", "aten::mul", "aten::sub", "aten::div", "addcmul", "aten::neg",
                                    "avg_pool", "aten::sum", "aten::mean", "aten::pow", "clamp")),
)


def kind_of(name: str) -> str:
    for kind, parts in KINDS:
        if any(part in name for part in parts):
            return kind
    return "other"


def setup(size: int, precision: str) -> tuple[impasto.StyleConfig, Objective, torch.Tensor]:
    """The run's options, one scale's objective at ``size`` and the photo at that size."""
    config = impasto.StyleConfig(size=size, precision=precision)
    content = im.to_tensor(im.load(str(EXAMPLES / "tubingen.jpg")).rgb)
    style = im.to_tensor(im.load(str(EXAMPLES / "starry_night.jpg")).rgb)
    net = pipeline.build_network(config, torch.device("cpu"))
    c = pipeline.fit_picture(content, size)
    s = pipeline.fit_picture(style, round(size * config.style_scale))
    return config, pipeline.build_objective(net, config, c, [s], bf16=precision == "bf16"), c


def profile(size: int, precision: str, warmup: int, steps: int, top: int) -> list[str]:
    config, objective, start = setup(size, precision)
    levels = schedule.smoothing(config)
    warm = optimise(objective, start, warmup, smooth=levels)  # kernels and targets warm, history built
    times: list[float] = []

    def tick(event: object) -> None:
        times.append(time.perf_counter())

    activities = [torch.profiler.ProfilerActivity.CPU]
    with torch.profiler.profile(activities=activities) as prof:
        times.append(time.perf_counter())
        optimise(objective, warm.image, steps, warm=warm.history, smooth=levels, callback=tick)
    step = statistics.median(b - a for a, b in zip(times, times[1:]))
    events = [e for e in prof.key_averages() if e.self_cpu_time_total > 0]
    total = sum(e.self_cpu_time_total for e in events)
    by_kind: dict[str, float] = defaultdict(float)
    for e in events:
        by_kind[kind_of(e.key)] += e.self_cpu_time_total
    h, w = start.shape[-2:]
    lines = [f"### {precision}, {w}x{h}: median step {step:.3f} s over {steps} profiled steps "
             f"(after {warmup} warm-up steps)", "",
             "| kind | self time per step s | share |", "|---|---|---|"]
    for kind, t in sorted(by_kind.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {kind} | {t / 1e6 / steps:.3f} | {100 * t / total:.1f}% |")
    lines += ["", f"Top {top} ops by self time:", "", "| op | kind | calls per step | self s per step | share |",
              "|---|---|---|---|---|"]
    for e in sorted(events, key=lambda e: -e.self_cpu_time_total)[:top]:
        lines.append(f"| {e.key} | {kind_of(e.key)} | {e.count / steps:.1f} | "
                     f"{e.self_cpu_time_total / 1e6 / steps:.3f} | {100 * e.self_cpu_time_total / total:.1f}% |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=512, help="long side of the picture (default 512)")
    parser.add_argument("--precision", nargs="+", choices=("fp32", "bf16"),
                        help="default: fp32, and bf16 where the CPU has it natively")
    parser.add_argument("--warmup", type=int, default=3, help="steps before profiling (default 3)")
    parser.add_argument("--steps", type=int, default=4, help="profiled steps (default 4)")
    parser.add_argument("--top", type=int, default=15, help="ops listed by self time (default 15)")
    args = parser.parse_args(argv)
    precisions = args.precision or (["fp32", "bf16"] if machine.has_bf16() else ["fp32"])
    lines = machine.stamp_lines(machine.stamp(machine.command_line()))
    for precision in precisions:
        if precision == "bf16" and not machine.has_bf16():
            lines.append("(bf16 on this CPU is emulated: its times say nothing of a bf16 CPU's)")
        lines += ["", *profile(args.size, precision, args.warmup, args.steps, args.top)]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
