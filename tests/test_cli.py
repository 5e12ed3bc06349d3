import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from impasto.cli import main
from impasto.recipe import read_recipe, sha256

FAST = ["--size", "40", "--steps", "3", "--start-size", "40", "-q"]


def run_cli(args, capsys):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_paints_and_writes_with_a_recipe(files, tmp_path, capsys):
    out = tmp_path / "out.png"
    code, stdout, err = run_cli([files["content"], files["style"], "-o", out, *FAST], capsys)
    assert code == 0 and f"wrote {out}" in stdout
    assert Image.open(out).size == (40, 30)
    recipe = read_recipe(out)
    assert recipe["options"]["size"] == 40 and recipe["steps_run"] == 3
    assert recipe["inputs"]["content"]["sha256"] == sha256(files["content"])


def test_help_documents_every_option_with_its_default(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    text = capsys.readouterr().out
    assert exit_.value.code == 0
    for flag in ("--size", "--steps", "--content-weight", "--style-weight", "--tv-weight", "--optimizer",
                 "--init", "--seed", "--device", "--weights", "--save-every", "--quiet"):
        assert flag in text
    assert "(default: 512)" in text and "(default: lbfgs)" in text


@pytest.mark.parametrize("args, message", [
    (["--optimizer", "sgd"], "invalid choice"),
    (["--size", "3"], "size=3 is invalid"),
    (["--style-weight", "-1"], "style_weight"),
    (["--style-weight", "nan"], "finite"),
    (["--steps", "-2"], "steps"),
    (["--steps", "0"], "steps=0 is invalid: must be at least 1"),
    (["--size", "abc"], "invalid int value"),
    (["--weights", "vgg-unknown"], "unknown weights"),
    (["--init", "/no/such.png"], "file not found"),
    (["--device", "cuda"], "no CUDA GPU") if not __import__("torch").cuda.is_available() else (["--size", "2"], "size"),
])
def test_bad_usage_exits_2_with_one_line(files, tmp_path, capsys, args, message):
    out = tmp_path / "never.png"
    code, _, err = run_cli([files["content"], files["style"], "-o", out, *FAST, *args], capsys)
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def test_missing_input_and_existing_output(files, tmp_path, capsys):
    code, _, err = run_cli([tmp_path / "nope.jpg", files["style"], "-o", tmp_path / "o.png", *FAST], capsys)
    assert code == 2 and "nope.jpg: file not found" in err
    existing = tmp_path / "keep.png"
    existing.write_bytes(b"precious")
    code, _, err = run_cli([files["content"], files["style"], "-o", existing, *FAST], capsys)
    assert code == 2 and "--overwrite" in err and existing.read_bytes() == b"precious"
    code, _, err = run_cli([files["content"], files["style"], "-o", files["content"], *FAST, "--overwrite"], capsys)
    assert code == 2 and "one of the inputs" in err


def test_save_every_snapshots_are_what_stopping_then_would_give(files, tmp_path, capsys):
    """At the output size (not the coarse scale's), in the photo's colours when they are kept
    (not the grey luminance the network works on), and never over earlier snapshots."""
    out = tmp_path / "o.png"
    opts = ["--size", "48", "--start-size", "24", "--steps", "4", "-q", "--preserve-colors", "luminance"]
    code, _, _ = run_cli([files["content"], files["style"], "-o", out, *opts, "--save-every", "1"], capsys)
    assert code == 0
    steps = sorted(tmp_path.glob("o-step*.png"))
    assert [p.name for p in steps] == [f"o-step{i:04d}.png" for i in range(1, 5)]
    final = np.asarray(Image.open(out), dtype=float)
    for snapshot in steps:
        arr = np.asarray(Image.open(snapshot), dtype=float)
        assert arr.shape == final.shape  # the output size from the first (24 px) scale's steps on
        assert np.abs(arr[..., 0] - arr[..., 2]).mean() > 5  # colour, not grey
    # The last snapshot is the picture but for the final step's own update (scored after it).
    def off(path):
        return np.abs(np.asarray(Image.open(path), dtype=float) - final).mean()

    assert off(steps[-1]) < 6 and off(steps[-1]) < off(steps[0])
    before = steps[0].stat().st_mtime_ns
    code, _, err = run_cli([files["content"], files["style"], "-o", tmp_path / "o2.png", *opts], capsys)
    assert code == 0
    out.unlink()
    code, _, err = run_cli([files["content"], files["style"], "-o", out, *opts, "--save-every", "2"], capsys)
    assert code == 2 and "o-step0001.png exist" in err and "--overwrite" in err
    assert steps[0].stat().st_mtime_ns == before and not out.exists()


def test_resuming_from_a_snapshot_continues_at_its_size(files, tmp_path, capsys):
    import impasto

    out = tmp_path / "o.png"
    opts = ["--size", "48", "--start-size", "24", "--steps", "4", "-q"]
    assert run_cli([files["content"], files["style"], "-o", out, *opts, "--save-every", "4"], capsys)[0] == 0
    snapshot = tmp_path / "o-step0004.png"
    events = []
    impasto.run(files["content"], files["style"], size=48, start_size=24, steps=3, init=str(snapshot),
                callback=events.append)
    sizes = {e.size for e in events if isinstance(e, impasto.Progress)}
    assert sizes == {(36, 48)}  # no restart at the 24 px scale: the snapshot's detail is kept


def test_mask_snapshot_has_the_photo_outside(files, tmp_path, capsys):
    mask = tmp_path / "mask.png"
    w, h = Image.open(files["content"]).size
    m = Image.new("L", (w, h), 0)
    m.paste(255, (0, 0, w // 2, h))
    m.save(mask)
    out = tmp_path / "m.png"
    assert run_cli([files["content"], files["style"], "-o", out, *FAST, "--mask", mask, "--save-every", "3"],
                   capsys)[0] == 0
    from impasto import image as im

    snap = np.asarray(Image.open(tmp_path / "m-step0003.png"), dtype=float)
    photo = im.resize(im.to_tensor(Image.open(files["content"]).convert("RGB")), snap.shape[:2])
    photo = np.asarray(im.to_pil(photo), dtype=float)
    right = slice(snap.shape[1] * 3 // 4, None)
    assert np.abs(snap[:, right] - photo[:, right]).max() <= 1  # the composite, as in the final picture


def test_default_output_name_never_overwrites(files, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_cli([files["content"], files["style"], *FAST], capsys)[0] == 0
    assert run_cli([files["content"], files["style"], *FAST], capsys)[0] == 0
    assert (tmp_path / "photo-painting.png").exists() and (tmp_path / "photo-painting-2.png").exists()


def test_info_and_redo(files, tmp_path, capsys):
    out = tmp_path / "o.png"
    assert run_cli([files["content"], files["style"], "-o", out, *FAST], capsys)[0] == 0
    code, text, _ = run_cli(["info", out], capsys)
    assert code == 0 and "photo.png" in text and "size = 40" in text
    again = tmp_path / "again.png"
    code, _, err = run_cli(["redo", out, "-o", again, "-q"], capsys)
    assert code == 0 and np.array_equal(np.asarray(Image.open(again)), np.asarray(Image.open(out)))
    Image.new("RGB", (50, 40), "red").save(files["content"])  # the photo changes
    code, _, err = run_cli(["redo", out, "-o", tmp_path / "third.png", "-q"], capsys)
    assert code == 0 and "has changed" in err
    code, _, err = run_cli(["info", files["style"]], capsys)
    assert code == 2 and "no impasto recipe" in err


def test_redo_writes_the_way_the_original_was_written(files, tmp_path, capsys, monkeypatch):
    """16-bit TIFF, the JPEG quality, the pixel limit and a start picture given by a relative
    path (from another folder) all survive a redo."""
    import tifffile

    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    Image.open(files["content"]).save("start.png")  # an init picture named relative to this folder
    deep = tmp_path / "deep.tif"
    args = [files["content"], files["style"], "-o", deep, *FAST, "--tiff16", "--init", "start.png",
            "--max-pixels", "5000000"]
    assert run_cli(args, capsys)[0] == 0
    jpg = tmp_path / "q.jpg"
    assert run_cli([files["content"], files["style"], "-o", jpg, *FAST, "--jpeg-quality", "40"], capsys)[0] == 0
    monkeypatch.chdir(tmp_path)  # elsewhere: "start.png" would not be found as typed
    code, _, err = run_cli(["redo", deep, "-o", tmp_path / "deep2.tif", "-q"], capsys)
    assert code == 0, err
    again = tifffile.imread(tmp_path / "deep2.tif")
    assert again.dtype == np.uint16 and np.array_equal(again, tifffile.imread(deep))
    assert read_recipe(tmp_path / "deep2.tif")["writing"]["max_pixels"] == 5_000_000
    assert run_cli(["redo", jpg, "-o", tmp_path / "q2.jpg", "-q"], capsys)[0] == 0
    assert (tmp_path / "q2.jpg").stat().st_size == pytest.approx(jpg.stat().st_size, rel=0.02)
    assert read_recipe(tmp_path / "q2.jpg")["writing"]["jpeg_quality"] == 40


def test_tiff16_needs_a_tiff_output(files, tmp_path, capsys):
    code, _, err = run_cli([files["content"], files["style"], "-o", tmp_path / "x.png", *FAST, "--tiff16"], capsys)
    assert code == 2 and "--tiff16 is for TIFF output" in err and not (tmp_path / "x.png").exists()


def test_signal_handlers_are_restored_after_a_run(files, tmp_path, capsys):
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    assert run_cli([files["content"], files["style"], "-o", tmp_path / "s.png", *FAST], capsys)[0] == 0
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_sigint_writes_the_best_picture_so_far(files, tmp_path):
    out = tmp_path / "interrupted.png"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "impasto.cli", str(files["content"]), str(files["style"]), "-o", str(out),
         "--size", "64", "--steps", "500", "--start-size", "64", "--save-every", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    deadline = time.time() + 120
    while not (tmp_path / "interrupted-step0002.png").exists() and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "interrupted after" in stderr and "Traceback" not in stderr
    img = Image.open(out)
    img.load()
    assert img.size == (64, 48)
    assert read_recipe(out)["stopped"] == "cancelled"


def test_notices_go_to_stderr_and_stdout_only_names_the_picture(files, tmp_path, capsys):
    out = tmp_path / "big.png"
    code, stdout, err = run_cli([files["content"], files["style"], "-o", out, "--size", "96", "--steps", "1",
                                 "--start-size", "96"], capsys)
    assert code == 0 and stdout.strip() == f"wrote {out}"
    assert "upsampling it to 96 px" in err


def test_a_closed_pipe_is_not_an_error():
    # `impasto info X | head` closes stdout early: exit quietly, no "unexpected error".
    code = ("import impasto.cli as c, impasto.cli.paint as p\n"
            "p.paint_command = lambda args: [print('x' * 1000) for _ in range(2000)] and 0\n"
            "raise SystemExit(c.main(['photo.jpg', 'painting.jpg']))")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.read(10)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0 and err == ""


def test_out_of_memory_is_one_line_with_advice(capsys, monkeypatch):
    import impasto.cli.paint

    def fail(args):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory")

    monkeypatch.setattr(impasto.cli.paint, "paint_command", fail)
    assert main(["photo.jpg", "painting.jpg"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "out of memory" in err[0] and "--tile-size" in err[0]
