"""Batch planning, manifests, collisions, resume and failures, in process (no Ray)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image

from impasto import batch, batch_run, image as im, recipe as recipes
from impasto.batch_run import JobDone, JobFailed, JobSkipped, LocalEngine
from impasto.cli import main
from impasto.config import StyleConfig
from impasto.errors import InputError
from impasto.events import Cancel

TINY = StyleConfig(size=32, steps=2, quality="draft")


@pytest.fixture()
def inputs(tmp_path: Path, photo: Image.Image, painting: Image.Image) -> dict[str, Path]:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    paths = {"p1": tmp_path / "a" / "shot.png", "p2": tmp_path / "b" / "shot.png",
             "p3": tmp_path / "a" / "house.png", "s1": tmp_path / "starry.png",
             "s2": tmp_path / "scream.png", "bad": tmp_path / "a" / "broken.png"}
    photo.save(paths["p1"])
    photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(paths["p2"])
    photo.resize((40, 30)).save(paths["p3"])
    painting.save(paths["s1"])
    painting.rotate(90).save(paths["s2"])
    paths["bad"].write_bytes(b"\x89PNG this is not really a picture")
    return paths


@pytest.fixture(scope="module")
def engine() -> LocalEngine:
    return LocalEngine(warm=TINY)


def test_names_blends_and_photo_major_order(inputs, tmp_path):
    out = tmp_path / "out"
    jobs = batch.jobs_from_args([str(inputs["p3"]), str(inputs["p1"])],
                                [str(inputs["s1"]), f"{inputs['s1']},{inputs['s2']}"], out, TINY)
    assert [j.output.name for j in jobs] == ["house-starry.png", "house-starry+scream.png",
                                            "shot-starry.png", "shot-starry+scream.png"]
    assert jobs[1].styles == (str(inputs["s1"]), str(inputs["s2"]))


def test_same_photo_name_in_two_folders_gets_the_folder_added(inputs, tmp_path):
    jobs = batch.jobs_from_args([str(inputs["p1"]), str(inputs["p2"])], [str(inputs["s1"])],
                                tmp_path / "out", TINY)
    assert sorted(j.output.name for j in jobs) == ["a_shot-starry.png", "b_shot-starry.png"]
    batch.check(jobs)  # no collision left


def test_names_that_cannot_be_told_apart_are_refused(inputs, tmp_path):
    same_stem = inputs["p1"].with_suffix(".jpg")
    Image.open(inputs["p1"]).save(same_stem)
    with pytest.raises(InputError, match="same output name"):
        batch.jobs_from_args([str(inputs["p1"]), str(same_stem)], [str(inputs["s1"])], tmp_path, TINY)


def _manifest(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "jobs.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_manifest_reports_every_bad_line_with_its_number(inputs, tmp_path):
    good = {"content": "a/shot.png", "style": "starry.png", "output": "x.png"}
    path = _manifest(tmp_path, [
        json.dumps(good),
        "# a comment, then a blank line",
        "",
        '{"content": "a/shot.png", "style": ',  # line 4: bad JSON
        json.dumps({**good, "output": "y.png", "colour": 3}),  # line 5: unknown option
        json.dumps({**good, "output": "z.png", "content": "a/missing.png"}),  # line 6
        json.dumps({**good, "output": "w.png", "size": 3}),  # line 7: bad value
        json.dumps({**good, "output": "v.png", "style": []}),  # line 8
    ])
    with pytest.raises(batch.ManifestError) as caught:
        batch.jobs_from_manifest(path, tmp_path / "out", TINY)
    problems = caught.value.problems
    assert [p.split(":")[0] for p in problems] == ["line 4", "line 5", "line 6", "line 7", "line 8"]
    assert "JSON" in problems[0] and "colour" in problems[1] and "missing.png" in problems[2]
    assert "size" in problems[3]
    # Through the command: exit 2, the line numbers on stderr, nothing made.
    code = main(["batch", "--manifest", str(path), "-o", str(tmp_path / "out"), "--workers", "0"])
    assert code == 2 and not (tmp_path / "out").exists()


def test_manifest_jobs_take_their_own_options_and_refuse_a_shared_output(inputs, tmp_path):
    path = _manifest(tmp_path, [
        json.dumps({"content": "a/shot.png", "style": ["starry.png", "scream.png"], "size": 40,
                    "style_weights": [2, 1]}),
        json.dumps({"content": "b/shot.png", "style": "starry.png", "output": "sub/two.png"}),
    ])
    jobs = batch.jobs_from_manifest(path, tmp_path / "out", TINY)
    assert jobs[0].config.size == 40 and jobs[0].config.style_weights == (2.0, 1.0)
    assert jobs[0].output == tmp_path / "out" / "shot-starry+scream.png" and jobs[0].line == 1
    assert jobs[1].config == TINY and jobs[1].output == tmp_path / "out" / "sub" / "two.png"
    clash = _manifest(tmp_path, [
        json.dumps({"content": "a/shot.png", "style": "starry.png", "output": "same.png"}),
        json.dumps({"content": "b/shot.png", "style": "scream.png", "output": "same.png"}),
    ])
    with pytest.raises(InputError, match=r"2 jobs would write .*same.png: line 1, line 2"):
        batch.plan(batch.jobs_from_manifest(clash, tmp_path / "out", TINY))


def test_output_that_is_an_input_is_refused(inputs, tmp_path):
    job = batch.Job(str(inputs["p1"]), (str(inputs["s1"]),), inputs["s1"], TINY)
    with pytest.raises(InputError, match="is one of the inputs"):
        batch.plan([job])


def test_bad_input_fails_alone_and_resume_skips_without_touching(inputs, tmp_path, engine):
    out = tmp_path / "out"
    out.mkdir()
    jobs = batch.jobs_from_args([str(inputs["p3"]), str(inputs["bad"])], [str(inputs["s1"])], out, TINY)
    events: list = []
    summary = batch_run.run(batch.plan(jobs), engine, callback=events.append)
    assert summary.done == 1 and len(summary.failed) == 1 and summary.interrupted == 0
    (failure,) = summary.failed
    assert failure.job.content == str(inputs["bad"]) and "broken.png" in failure.error
    assert "\n" not in failure.error
    done = out / "house-starry.png"
    assert [type(e) for e in events].count(JobDone) == 1 and not (out / "broken-starry.png").exists()
    recipe = recipes.read_recipe(done)
    assert recipe["inputs"]["content"]["sha256"] == recipes.sha256(inputs["p3"])
    assert Image.open(done).size == (32, 24)

    # Second run: the finished picture is skipped without being written; the bad one is tried again.
    os.utime(done, (1_000_000, 1_000_000))
    again = batch.plan(jobs)
    assert [j.output for j, _ in again.skipped] == [done] and [j.content for j in again.todo] == [str(inputs["bad"])]
    events.clear()
    summary = batch_run.run(again, engine, callback=events.append)
    assert summary.skipped == 1 and summary.done == 0 and len(summary.failed) == 1
    assert isinstance(events[0], JobSkipped) and isinstance(events[1], JobFailed)
    assert done.stat().st_mtime == 1_000_000

    # A changed option: refused unless --overwrite.
    changed = [batch.Job(j.content, j.styles, j.output, TINY.with_options(seed=1)) for j in jobs[:1]]
    with pytest.raises(InputError, match="--overwrite"):
        batch.plan(changed)
    assert batch.plan(changed, overwrite=True).todo == changed
    # A changed input: the same.
    Image.open(inputs["p3"]).rotate(180).save(inputs["p3"])
    with pytest.raises(InputError, match="other inputs or options"):
        batch.plan(jobs[:1])


def test_cancel_keeps_finished_pictures_and_writes_no_half_picture(inputs, tmp_path, engine):
    out = tmp_path / "out"
    out.mkdir()
    jobs = batch.jobs_from_args([str(inputs["p1"]), str(inputs["p3"])],
                                [str(inputs["s1"]), str(inputs["s2"])], out, TINY)
    cancel = Cancel()

    def stop_after_first(event):
        if isinstance(event, JobDone):
            cancel.set()

    summary = batch_run.run(batch.plan(jobs), engine, callback=stop_after_first, cancel=cancel)
    assert summary.cancelled and summary.done == 1 and summary.interrupted == 3
    assert [p.name for p in out.iterdir()] == [jobs[0].output.name]  # and no temporary files


def test_command_in_process_lists_failures_and_exits_1(inputs, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["batch", str(inputs["p3"]), str(inputs["bad"]), "--style", str(inputs["s2"]), "-o", str(out),
            "--workers", "0", "--size", "32", "--steps", "2", "--quality", "draft", "-q"]
    assert main(args) == 1
    text = capsys.readouterr().out
    assert "1 painted" in text and "1 failed" in text and "FAILED" in text and "broken-scream.png" in text
    assert (out / "house-scream.png").is_file()
    assert main(["batch", str(inputs["p3"]), "-o", str(out), "--workers", "0"]) == 2  # no --style


def test_load_bytes_names_the_file():
    with pytest.raises(InputError, match="content x.png: not an image"):
        im.load(b"nonsense", label="content", name="x.png")
    with pytest.raises(InputError, match="file is empty"):
        im.load(b"", label="content", name="x.png")
