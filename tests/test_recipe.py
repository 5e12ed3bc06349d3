import pytest
import torch
from PIL import Image

from impasto import StyleConfig, output, recipe


def test_build_describes_inputs_and_reads_back_from_the_picture(files, tmp_path):
    config = StyleConfig(size=48, steps=3, style_weights=(1.0,))
    meta = recipe.build(config, files["content"], [files["style"]], device="cpu", bf16=False,
                        steps=3, stopped=None)
    assert meta["options"] == config.to_dict() and meta["impasto"] == recipe.base(config)["impasto"]
    assert meta["inputs"]["content"]["sha256"] == recipe.sha256(files["content"])
    assert "init" not in meta["inputs"] and "masks" not in meta["inputs"]
    path = tmp_path / "pic.png"
    output.save(torch.rand(1, 3, 8, 8), path, recipe=meta)
    back = recipe.read_recipe(path)
    assert back == meta
    assert recipe.config_of(back) == config  # lists become tuples again
    assert recipe.changed_inputs(back) == []


def test_an_init_picture_is_an_input_too(files):
    config = StyleConfig(init=str(files["style"]))
    meta = recipe.build(config, files["content"], [files["style"]], device="cpu", bf16=False, steps=1,
                        stopped=None)
    assert meta["inputs"]["init"]["sha256"] == recipe.sha256(files["style"])


def test_changed_and_missing_inputs_are_named(files, tmp_path):
    photo = tmp_path / "photo.png"
    photo.write_bytes(files["content"].read_bytes())
    meta = recipe.build(StyleConfig(), photo, [files["style"]], device="cpu", bf16=False, steps=1, stopped=None)
    with open(photo, "ab") as fh:
        fh.write(b"x")
    assert recipe.changed_inputs(meta) == [f"{photo.resolve()} has changed since the picture was made"]
    photo.unlink()
    assert recipe.changed_inputs(meta) == [f"{photo.resolve()} is missing"]


def test_pictures_without_a_recipe_read_as_none(tmp_path):
    path = tmp_path / "plain.png"
    Image.new("RGB", (4, 4)).save(path)
    assert recipe.read_recipe(path) is None
    output.save(torch.rand(1, 3, 4, 4), path, recipe={"not": "ours"})
    assert recipe.read_recipe(path) is None


def test_options_from_another_version_are_refused():
    with pytest.raises(TypeError):
        recipe.config_of({"options": {"brush": 3}})
