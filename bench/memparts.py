"""What fills the memory of a default run: resident memory between the stages of one painting.

    PYTHONPATH=src .venv/bin/python bench/memparts.py                     # 512 px, The Scream (~1 min)
    PYTHONPATH=src .venv/bin/python bench/memparts.py --size 1024 --painting starry_night

Resident memory from /proc/self/statm after each stage; the peak from getrusage.
"""

from __future__ import annotations

import argparse
import resource
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "src" / "impasto" / "examples"


def rss() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096 / 2**20


def peak() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--painting", default="the_scream")
    args = parser.parse_args()
    print(f"start {rss():.0f} MiB")
    import torch
    print(f"torch imported {rss():.0f} MiB")
    from impasto import image as im, pipeline
    from impasto.config import StyleConfig
    config = StyleConfig(size=args.size)
    net = pipeline.build_network(config, torch.device("cpu"))
    weights = sum(p.numel() * p.element_size() for p in net.parameters()) / 2**20
    print(f"impasto imported, network built {rss():.0f} MiB (weights {weights:.0f} MiB)")
    photo = im.to_tensor(im.load(str(EXAMPLES / "tubingen.jpg")).rgb)
    painting = im.to_tensor(im.load(str(EXAMPLES / f"{args.painting}.jpg")).rgb)
    print(f"pictures decoded {rss():.0f} MiB")
    pipeline.paint(photo, [painting], config, net=net)
    print(f"painted {rss():.0f} MiB; peak {peak():.0f} MiB")


if __name__ == "__main__":
    main()
