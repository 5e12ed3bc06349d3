"""Scale-out benchmark for ``impasto batch``: pictures per minute, one worker and two,
in process, on a local Ray and on a two-node Ray cluster started on loopback.

    pip install -e '.[ray]'
    .venv/bin/python bench/scale.py                  # the real numbers; about 25 min on 2 cores
    .venv/bin/python bench/scale.py --write          # ... and append the table to bench/RESULTS.md
    .venv/bin/python bench/scale.py --sizes 64 --pictures 2 --steps 4   # a quick check that it runs

Every configuration paints the same ``--pictures`` jobs (the bundled photos in
The Starry Night, --steps steps, quality standard) after its workers are up
and their network is built, so start-up is not counted. Reported per row:
wall time, pictures per minute, and the worker's own seconds per picture.
Ray's overhead per picture is (Ray wall time per picture with one 1-CPU
worker) - (in-process seconds per picture with one thread): transfer of the
bytes, scheduling, the result's trip back and the driver's write. The
estimate for N GPU nodes takes a per-picture GPU time (``--gpu-seconds``, e.g.
from bench/bench.py on the GPU) plus the measured overhead.
"""

from __future__ import annotations

import argparse
import datetime
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
# Ray workers (and the loopback cluster's nodes) import this checkout's impasto too.
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))

import machine  # bench/machine.py

from impasto import batch, batch_run
from impasto.config import StyleConfig

EXAMPLES = ROOT / "src/impasto/examples"
PHOTOS = [EXAMPLES / n for n in ("tubingen.jpg", "shipwreck_minotaur.jpg", "the_scream.jpg",
                                 "composition_vii.jpg")]
PAINTING = EXAMPLES / "starry_night.jpg"


def jobs(size: int, steps: int, pictures: int, out: Path) -> list[batch.Job]:
    config = StyleConfig(size=size, steps=steps)
    return [batch.Job(str(PHOTOS[i % len(PHOTOS)]), (str(PAINTING),), out / f"pic{i:03d}.png", config)
            for i in range(pictures)]


def measure(engine, todo: list[batch.Job], kill_after: float | None = None) -> dict:
    """Paint ``todo``; with ``kill_after`` (seconds), SIGKILL the process of the worker that
    finished first that long after its first picture, while it paints its next one."""
    for job in todo:
        job.output.unlink(missing_ok=True)
    seconds: list[float] = []
    killed: list[str] = []

    def on_event(event) -> None:
        if isinstance(event, batch_run.JobDone):
            seconds.append(event.seconds)
            if kill_after is not None and not killed:
                number = engine.names.index(event.worker)
                time.sleep(kill_after)
                os.kill(engine.pids[number], signal.SIGKILL)
                killed.append(event.worker)
        elif isinstance(event, batch_run.JobFailed):
            raise SystemExit(f"a job failed: {event.error}")

    start = time.perf_counter()
    summary = batch_run.run(batch.Plan(list(todo)), engine, callback=on_event)
    wall = time.perf_counter() - start
    assert summary.done == len(todo)
    return {"wall": wall, "per_min": 60 * len(todo) / wall, "job_s": statistics.median(seconds),
            "job_sum": sum(seconds), "workers": len(summary.per_worker)}


def overhead(rounds: int = 3, pictures: int = 16) -> dict:
    """Ray's own cost per picture, measured where painting costs almost nothing: ``pictures``
    tiny jobs (32 px, 1 step) in process and on one local 1-CPU Ray worker, medians of
    ``rounds``. What remains is the bytes' trip, scheduling, the result's trip back and the
    driver's write (the driver writes in both)."""
    from impasto.ray_engine import RayEngine

    tmp = Path(tempfile.mkdtemp(prefix="impasto-overhead-"))
    todo = jobs(32, 1, pictures, tmp)
    torch.set_num_threads(1)
    local = batch_run.LocalEngine(warm=StyleConfig(size=32))
    measure(local, todo)  # warm up
    here = statistics.median(measure(local, todo)["wall"] for _ in range(rounds)) / pictures
    local.close()
    torch.set_num_threads(os.cpu_count() or 1)
    engine = RayEngine(None, workers=1, cpus_per_worker=1, warm=StyleConfig(size=32))
    measure(engine, todo)
    there = statistics.median(measure(engine, todo)["wall"] for _ in range(rounds)) / pictures
    engine.close()
    return {"in_process": here, "ray": there, "overhead": there - here}


def run_all(args: argparse.Namespace) -> list[dict]:
    import ray
    from ray.cluster_utils import Cluster

    from impasto.ray_engine import RayEngine

    rows: list[dict] = []
    tmp = Path(tempfile.mkdtemp(prefix="impasto-scale-"))
    warm = StyleConfig()

    def add(where: str, workers: int, size: int, result: dict) -> None:
        row = {"where": where, "workers": workers, "size": size, **result}
        rows.append(row)
        print(f"{where:<28} {workers} worker(s) {size:>4} px: {result['wall']:7.1f} s, "
              f"{result['per_min']:6.2f} pic/min, {result['job_s']:6.2f} s a picture in the worker", flush=True)

    # In process, one thread: the same job function with nothing around it.
    torch.set_num_threads(1)
    local = batch_run.LocalEngine(warm=warm)
    for size in args.sizes:
        add("in process (1 thread)", 1, size, measure(local, jobs(size, args.steps, args.pictures, tmp)))
    local.close()
    torch.set_num_threads(os.cpu_count() or 1)

    if "local" in args.ray:
        for workers in (1, 2):
            engine = RayEngine(None, workers=workers, cpus_per_worker=1, warm=warm)
            for size in args.sizes:
                add("local Ray (1 CPU a worker)", workers, size,
                    measure(engine, jobs(size, args.steps, args.pictures, tmp)))
            engine.close()
    if "cluster" in args.ray:
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
        try:
            cluster.add_node(num_cpus=1)
            cluster.wait_for_nodes()
            for workers in (1, 2):
                engine = RayEngine(cluster.address, workers=workers, warm=warm)
                for size in args.sizes:
                    add("2-node loopback cluster", workers, size,
                        measure(engine, jobs(size, args.steps, args.pictures, tmp)))
                if workers == 2:
                    # A worker killed halfway through a picture: what does it cost?
                    small = min(args.sizes)
                    clean = next(r for r in rows if r["where"] == "2-node loopback cluster"
                                 and r["workers"] == 2 and r["size"] == small)
                    add("2-node, one worker killed", workers, small,
                        measure(engine, jobs(small, args.steps, args.pictures, tmp), kill_after=clean["job_s"] / 2))
                engine.close()
        finally:
            if ray.is_initialized():
                ray.shutdown()
            cluster.shutdown()
    return rows


def report(rows: list[dict], args: argparse.Namespace, command: str) -> str:
    lines = [f"### Scale-out: impasto batch on Ray ({datetime.date.today()})", "",
             (f"Machine: {machine.cpu_kind()}, {os.cpu_count()} cores, torch "
              f"{torch.__version__}; {args.pictures} pictures a row, {args.steps} steps each. Command: `{command}`"),
             "", "| where | workers | size | wall s | pictures/min | worker s/picture |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['where']} | {r['workers']} | {r['size']} | {r['wall']:.1f} | {r['per_min']:.2f} | "
              f"{r['job_s']:.2f} |" for r in rows]
    lines.append("")
    for size in args.sizes:
        def get(where: str, workers: int, size: int = size) -> dict | None:
            return next((r for r in rows if r["where"].startswith(where) and r["workers"] == workers
                         and r["size"] == size), None)

        base = get("in process", 1)
        one_local = get("local Ray", 1)
        one_cluster, two_cluster = get("2-node loopback", 1), get("2-node loopback", 2)
        killed = get("2-node, one worker killed", 2)
        if killed and two_cluster:
            lines.append(f"- {size} px: a worker killed halfway through a picture cost "
                         f"{killed['wall'] - two_cluster['wall']:+.1f} s of wall time (one picture takes "
                         f"{two_cluster['job_s']:.1f} s in a worker; target: at most that)")
        if base and one_local:
            apart = one_local["wall"] / args.pictures - base["wall"] / args.pictures
            inside = one_local["wall"] / args.pictures - one_local["job_sum"] / args.pictures
            lines.append(f"- {size} px: one 1-CPU Ray worker vs the same jobs in process: {apart:+.2f} s a "
                         f"picture ({base['wall'] / args.pictures:.2f} s a picture in process; two runs, so "
                         f"painting's own variation is in it); its wall time minus its workers' painting "
                         f"time: {inside:+.2f} s a picture")
        if one_cluster and two_cluster:
            lines.append(f"- {size} px: two nodes paint {two_cluster['per_min'] / one_cluster['per_min']:.2f}x "
                         "the pictures per minute of one (target: >= 1.7x)")
    ray_rows = [r for r in rows if r["where"] != "in process (1 thread)" and r["workers"] == 1]
    if ray_rows and args.gpu_seconds:
        big = max(args.sizes)
        base = next((r for r in rows if r["where"].startswith("in process") and r["size"] == big), None)
        ray1 = next((r for r in ray_rows if r["size"] == big), None)
        if base and ray1:
            overhead = max(0.0, ray1["wall"] / args.pictures - base["wall"] / args.pictures)
            per = args.gpu_seconds + overhead
            lines.append(f"- Estimate for N GPU nodes at {big} px ({args.gpu_seconds:g} s a picture on one GPU "
                         f"+ {overhead:.2f} s overhead, one worker a GPU, jobs independent): "
                         + ", ".join(f"N={n}: {60 * n / per:.0f} pictures/min" for n in (1, 2, 4, 8, 16))
                         + "; 10 000 pictures on 8 nodes: "
                         f"{10_000 * per / 8 / 3600:.1f} h. The driver writes each picture (about "
                         "0.05 s at 512 px), so one driver keeps up with ~1000 pictures/min.")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--pictures", type=int, default=8, help="jobs a row (default: 8)")
    parser.add_argument("--steps", type=int, default=60, help="steps a picture (default: 60)")
    parser.add_argument("--ray", nargs="*", default=["local", "cluster"], choices=["local", "cluster"])
    parser.add_argument("--gpu-seconds", type=float, default=0.0,
                        help="seconds a picture on one GPU, for the N-GPU-node estimate")
    parser.add_argument("--overhead-only", action="store_true",
                        help="only Ray's own overhead per picture, on tiny jobs (about a minute)")
    parser.add_argument("--write", action="store_true", help="append the table to bench/RESULTS.md")
    args = parser.parse_args()
    command = "python bench/scale.py " + " ".join(sys.argv[1:])
    if args.overhead_only:
        o = overhead()
        text = (f"- Ray's own overhead ({datetime.date.today()}, {machine.cpu_kind()}; `{command.strip()}`): "
                f"16 tiny jobs (32 px, 1 step), medians of 3 rounds: {o['in_process']:.3f} s a picture in "
                f"process, {o['ray']:.3f} s on one local 1-CPU Ray worker: {o['overhead']:+.3f} s a picture "
                "(target: < 0.5 s)\n")
        print(text)
        if args.write:
            with open(ROOT / "bench/RESULTS.md", "a", encoding="utf-8") as fh:
                fh.write(text)
        return
    text = report(run_all(args), args, command.strip())
    print("\n" + text)
    if args.write:
        with open(ROOT / "bench/RESULTS.md", "a", encoding="utf-8") as fh:
            fh.write("\n" + text)


if __name__ == "__main__":
    main()
