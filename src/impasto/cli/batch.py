"""``impasto batch``: many photos in many styles, on a local Ray or a cluster.

Everything that can be refused is refused before any work (see
:mod:`impasto.batch`); then one progress bar over all jobs, one line per
failure, and a summary. Exit codes: 0 all painted or already done, 1 some
jobs failed (listed), 2 bad usage or input, 130 interrupted (finished
pictures kept).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from .. import batch, batch_run, device as devices
from ..config import StyleConfig
from ..events import Cancel
from .common import (
    EXIT_FAIL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    Bar,
    Parser,
    UsageError,
    add_config_arguments,
    config_from,
    interrupt_handlers,
)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="impasto batch",
        description="Paint every photo in every painting's style, in parallel on a local Ray "
        "instance or a Ray cluster. Outputs are OUTDIR/PHOTO-PAINTING.png; running the same "
        "command again paints only what is missing or changed.",
    )
    parser.add_argument("photos", nargs="*", metavar="PHOTO", help="the photos")
    parser.add_argument("--style", action="append", default=[], metavar="PAINTING",
                        help="a painting; repeat for more; several in one entry, separated by "
                        "commas (a.jpg,b.jpg), blend into one style")
    parser.add_argument("-o", "--output-dir", default=None, metavar="OUTDIR",
                        help="folder for the pictures (made if missing; default with --manifest: "
                        "the manifest's folder)")
    parser.add_argument("--manifest", default=None, metavar="JOBS.jsonl",
                        help='one job a line: {"content": ..., "style": ... or [...], "output": ..., '
                        "any style option}; relative inputs are relative to the manifest")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace outputs made from other inputs or options")
    parser.add_argument("--ray-address", default=None, metavar="ADDR",
                        help="join a Ray cluster: auto, HOST:PORT or ray://HOST:PORT "
                        "(default: start Ray on this machine)")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="number of workers (default: as many as fit); 0 paints in this "
                        "process, one picture at a time, without Ray")
    parser.add_argument("--cpus-per-worker", type=float, default=0, metavar="C",
                        help="CPUs (torch threads) per worker (default: 1 with GPUs, else 2)")
    parser.add_argument("--gpus-per-worker", type=float, default=None, metavar="G",
                        help="GPUs per worker (default: 1 where the cluster has GPUs, else 0)")
    parser.add_argument("--max-pixels", type=int, default=100_000_000,
                        help="refuse inputs larger than this many pixels (default: 100000000)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar; only the summary")
    add_config_arguments(parser)
    return parser


def jobs_from(args: argparse.Namespace, config: StyleConfig) -> list[batch.Job]:
    if args.manifest:
        if args.photos or args.style:
            raise UsageError("give photos and --style, or --manifest, not both")
        outdir = Path(args.output_dir) if args.output_dir else Path(args.manifest).parent
        jobs = batch.jobs_from_manifest(args.manifest, outdir, config)
    else:
        if args.output_dir is None:
            raise UsageError("-o OUTDIR is needed")
        jobs = batch.jobs_from_args(args.photos, args.style, Path(args.output_dir), config)
    for folder in sorted({job.output.parent for job in jobs}):
        if folder.exists() and not folder.is_dir():
            raise UsageError(f"output folder {folder} is a file")
    return jobs


def make_engine(args: argparse.Namespace, config: StyleConfig, say: Callable[[str], None]) -> batch_run.Engine:
    if args.workers == 0:
        if args.ray_address:
            raise UsageError("--workers 0 paints in this process: it cannot be combined with --ray-address")
        # Ray's workers may be other machines; this one's precision is known only in-process.
        warning = devices.bf16_warning(config.precision, devices.pick(config.device))
        if warning:
            say(warning)
        return batch_run.LocalEngine(warm=config)
    try:
        from ..ray_engine import RayEngine
    except ImportError:
        raise UsageError("batch runs on Ray: pip install 'impasto[ray]' (or --workers 0 to paint "
                         "in this process)") from None
    engine = RayEngine(args.ray_address, workers=args.workers or 0, cpus_per_worker=args.cpus_per_worker,
                       gpus_per_worker=args.gpus_per_worker, warm=config, notice=say)
    gpus = f", {engine.gpus_per_worker:g} GPU" if engine.gpus_per_worker else ""
    say(f"{len(engine.actors)} worker(s) ready ({engine.cpus_per_worker:g} CPU{gpus} each)")
    return engine


class Progress(Bar):
    """One bar over all jobs: done/total, pictures per minute, time left."""

    def __init__(self, total: int, quiet: bool) -> None:
        super().__init__(quiet)
        self.start = time.perf_counter()
        self.painted = 0
        self.open(total, "pic", "{percentage:3.0f}%|{bar}| {n}/{total} [{elapsed}<{remaining}{postfix}]")

    def __call__(self, event: batch_run.Event) -> None:
        if isinstance(event, batch_run.JobFailed):
            self.say(f"failed: {event.job.where()}{event.job.output.name}: {event.error}")
        if isinstance(event, batch_run.JobDone):
            self.painted += 1
        if self.bar is not None:
            minutes = (time.perf_counter() - self.start) / 60
            if self.painted and minutes > 0:
                self.bar.set_postfix_str(f"{self.painted / minutes:.1f} pic/min", refresh=False)
            self.bar.update(1)

    def say(self, message: str) -> None:
        if self.quiet and message.startswith("failed"):  # failures are told even with --quiet
            print(f"impasto: {message}", file=sys.stderr)
        else:
            super().say(message)


def report(summary: batch_run.Summary) -> None:
    m, s = divmod(summary.wall, 60)
    parts = [f"{summary.done} painted", f"{summary.skipped} already done", f"{len(summary.failed)} failed"]
    if summary.interrupted:
        parts.append(f"{summary.interrupted} not painted (interrupted)")
    print(f"batch: {', '.join(parts)} of {summary.total} in {int(m)}m{s:04.1f}s")
    for worker, count in sorted(summary.per_worker.items()):
        print(f"  {worker}: {count} painted")
    for failure in summary.failed:
        print(f"  FAILED {failure.job.where()}{failure.job.output}: {failure.error}")


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    config = config_from(args)
    if args.max_pixels < 1:
        raise UsageError("--max-pixels must be positive")
    if args.workers is not None and args.workers < 0:
        raise UsageError("--workers must be 0 or more")
    plan = batch.plan(jobs_from(args, config), overwrite=args.overwrite)
    for folder in sorted({job.output.parent for job in plan.todo}):
        folder.mkdir(parents=True, exist_ok=True)
    progress = Progress(len(plan.todo) + len(plan.skipped), args.quiet)
    cancel = Cancel()
    engine = None
    try:
        if plan.todo:
            engine = make_engine(args, config, progress.say)
        with interrupt_handlers(lambda signum: cancel.set()):
            summary = batch_run.run(plan, engine or batch_run.LocalEngine(), callback=progress,
                                    cancel=cancel, max_pixels=args.max_pixels)
    finally:
        progress.close()
        if engine is not None:
            engine.close()
    report(summary)
    if summary.cancelled:
        return EXIT_INTERRUPTED
    return EXIT_FAIL if summary.failed else EXIT_OK
