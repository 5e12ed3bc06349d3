"""The batch on Ray: a two-node cluster on loopback (1 CPU each), started once for the module."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster

from impasto import batch, batch_run, output, recipe as recipes
from impasto.cli import main
from impasto.config import StyleConfig

TINY = ["--size", "32", "--steps", "2", "--quality", "draft"]


@pytest.fixture(scope="module")
def cluster():
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        c.add_node(num_cpus=1)
        c.wait_for_nodes()
        yield c
    finally:
        if ray.is_initialized():
            ray.shutdown()
        c.shutdown()


@pytest.fixture()
def pictures(tmp_path: Path, photo: Image.Image, painting: Image.Image) -> dict[str, Path]:
    paths = {"p1": tmp_path / "tower.png", "p2": tmp_path / "river.png", "s1": tmp_path / "starry.png",
             "s2": tmp_path / "swirl.png", "bad": tmp_path / "broken.jpg"}
    photo.save(paths["p1"])
    photo.crop((0, 0, 40, 40)).save(paths["p2"])
    painting.save(paths["s1"])
    painting.rotate(90).save(paths["s2"])
    paths["bad"].write_bytes(b"\xff\xd8\xff not a jpeg at all")
    return paths


def test_command_joins_a_cluster_bad_input_fails_alone_and_resume_skips(cluster, pictures, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["batch", str(pictures["p1"]), str(pictures["p2"]), str(pictures["bad"]),
            "--style", str(pictures["s1"]), "-o", str(out), "--ray-address", cluster.address, "-q", *TINY]
    assert main(args) == 1
    text = capsys.readouterr().out
    assert "2 painted, 0 already done, 1 failed of 3" in text
    assert "broken-starry.png: content broken.jpg" in text
    # Two workers, one a node (1 CPU each); each picture counted once, by the worker that made it.
    counts = [line for line in text.splitlines() if line.strip().startswith("worker")]
    assert len(counts) >= 1 and sum(int(line.split(": ")[1].split()[0]) for line in counts) == 2
    written = sorted(out.iterdir())
    assert [p.name for p in written] == ["river-starry.png", "tower-starry.png"]
    for p in written:
        assert recipes.read_recipe(p)["stopped"] is None and Image.open(p).size[0] == 32
    stamps = {p: p.stat().st_mtime_ns for p in written}
    assert not ray.is_initialized()  # the driver left the cluster

    # Same command again: the finished pictures are skipped, untouched; only the bad one fails again.
    assert main(args) == 1
    text = capsys.readouterr().out
    assert "0 painted, 2 already done, 1 failed of 3" in text
    assert {p: p.stat().st_mtime_ns for p in written} == stamps


def test_a_worker_killed_mid_picture_costs_only_a_retry(cluster, pictures, tmp_path, monkeypatch):
    from impasto.ray_engine import RayEngine

    config = StyleConfig(size=40, steps=25, quality="draft", start_size=40)
    out = tmp_path / "out"
    out.mkdir()
    jobs = batch.jobs_from_args([str(pictures["p1"]), str(pictures["p2"])],
                                [str(pictures["s1"]), str(pictures["s2"])], out, config)
    saves: Counter[str] = Counter()
    real_save = output.save

    def counting_save(image, path, **kwargs):
        saves[Path(path).name] += 1
        return real_save(image, path, **kwargs)

    monkeypatch.setattr(batch_run.output, "save", counting_save)
    engine = RayEngine(cluster.address, workers=2, warm=config)
    killed: list[int] = []

    def kill_a_busy_worker(event):
        # The worker that finished first already holds its next job (two calls queued a worker):
        # kill its process while it paints that one.
        if isinstance(event, batch_run.JobDone) and not killed:
            number = engine.names.index(event.worker)
            time.sleep(0.3)
            os.kill(engine.pids[number], signal.SIGKILL)
            killed.append(number)

    try:
        summary = batch_run.run(batch.plan(jobs), engine, callback=kill_a_busy_worker)
        restarted_pid = ray.get(engine.actors[killed[0]].ready.remote())[1]
    finally:
        engine.close()
    assert killed and restarted_pid != engine.pids[killed[0]]  # Ray restarted the actor
    assert summary.done == 4 and not summary.failed and summary.interrupted == 0
    assert sum(summary.per_worker.values()) == 4
    assert sorted(saves) == sorted(j.output.name for j in jobs) and set(saves.values()) == {1}
    for job in jobs:
        recipe = recipes.read_recipe(job.output)
        assert recipe["stopped"] is None and recipe["steps_run"] == 25
        assert Image.open(job.output).size[0] == 40
