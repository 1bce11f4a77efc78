"""End-to-end training on the bundled sample catalogue with a tiny model."""

import json
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from fashionclip.sample import sample_catalog
from fashionclip.training import DataSource, TrainConfig, TrainConfigError, train
from fashionclip.training.trainer import CHECKPOINT, METRICS, Trainer

TINY = {
    "image_size": 32,
    "vision_width": 64,
    "vision_layers": 2,
    "text_width": 64,
    "text_layers": 2,
    "embed_dim": 32,
    "activation": "gelu",  # as the fashion-clip-mini recipe; fine-tuning tests keep CLIP's quick_gelu
}


def _config(output: Path, **changes) -> TrainConfig:
    root, _ = sample_catalog()
    values = dict(
        data=[
            DataSource(
                str(root / "catalog.csv"),
                caption_columns=["title"],
                templates=["a photo of a {baseColour} {articleType}", "a photo of a {articleType}"],
                colour_columns=["baseColour"],
            )
        ],
        output=str(output),
        architecture=dict(TINY),
        epochs=2,
        batch_size=16,
        lr=2e-3,
        workers=0,
        val_fraction=0.2,
        val_attribute="articleType",
        checkpoint_every=2,
        log_every=1,
        augment={"crop_scale": 0.8, "flip": 0.5, "background": 0.3, "greyscale": 0.2, "negative": 0.1},
    )
    values.update(changes)
    return TrainConfig.from_dict(values)


def test_training_from_scratch_writes_a_model_that_both_loaders_read(tmp_path):
    from transformers import CLIPModel

    from fashionclip import load_model

    result = train(_config(tmp_path / "run"), show_progress=False)
    assert result.epochs == 2 and result.steps > 0
    for name in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "preprocessor_config.json",
        "README.md",
        "training_config.json",
        METRICS,
    ):
        assert (tmp_path / "run" / name).exists(), name
    records = [json.loads(line) for line in (tmp_path / "run" / METRICS).read_text().splitlines()]
    validations = [r for r in records if r["type"] == "validation"]
    assert [v["epoch"] for v in validations] == [0, 1]
    assert {"text_to_image_R@1", "image_to_text_R@10", "zero_shot_articleType_accuracy"} <= set(validations[-1])
    assert all(r["loss"] > 0 for r in records if r["type"] == "train")

    encoder = load_model(str(tmp_path / "run"), backend="torch", precision="fp32")
    assert encoder.preprocess.image_size == 32 and encoder.preprocess.resize_mode == "squash"
    root, rows = sample_catalog()
    ours = encoder.encode_images([root / rows[0]["image"]])
    plain = CLIPModel.from_pretrained(tmp_path / "run")
    assert plain.dtype == torch.float32
    pixels = torch.from_numpy(encoder.image_preprocessor(root / rows[0]["image"])[None])
    with torch.no_grad():
        reference = torch.nn.functional.normalize(
            plain.visual_projection(plain.vision_model(pixel_values=pixels).pooler_output), dim=-1
        )
    np.testing.assert_allclose(ours, reference.numpy(), atol=1e-5)
    card = (tmp_path / "run" / "README.md").read_text()
    assert "zero_shot_articleType_accuracy" in card and "license: mit" in card


def test_training_changes_the_weights_and_lowers_the_loss(tmp_path):
    result = train(_config(tmp_path / "run", epochs=6, augment={"crop_scale": 1.0, "flip": 0.0}), show_progress=False)
    losses = [r["loss"] for r in result.history if r["type"] == "train"]
    assert np.mean(losses[-4:]) < np.mean(losses[:4])


def test_fine_tuning_a_checkpoint_with_a_frozen_image_tower(tmp_path, tiny_checkpoint):
    from safetensors.torch import load_file

    config = _config(tmp_path / "ft", architecture=None, model=str(tiny_checkpoint), freeze=["vision"], epochs=1)
    train(config, show_progress=False)
    before, after = load_file(tiny_checkpoint / "model.safetensors"), load_file(tmp_path / "ft" / "model.safetensors")
    vision = [k for k in before if k.startswith(("vision_model.", "visual_projection"))]
    text = [k for k in before if k.startswith("text_model.encoder")]
    assert vision and text
    assert all(torch.equal(before[k], after[k]) for k in vision)
    assert any(not torch.equal(before[k], after[k]) for k in text)


def test_fine_tuning_a_registry_model_from_the_offline_hub_cache(tmp_path, fake_fashion_clip_cache):
    result = train(_config(tmp_path / "ft", architecture=None, model="fashion-clip", epochs=1), show_progress=False)
    assert result.steps > 0
    card = (tmp_path / "ft" / "README.md").read_text()
    assert "starting from **fashion-clip**" in card


def test_training_on_an_easynlp_tsv_of_base64_images(tmp_path):
    import base64

    root, rows = sample_catalog()
    lines = [r["title"] + "\t" + base64.b64encode((root / r["image"]).read_bytes()).decode() for r in rows]
    (tmp_path / "train.tsv").write_text("\n".join(lines) + "\n")
    result = train(
        _config(tmp_path / "run", data=[DataSource(str(tmp_path / "train.tsv"))], epochs=1, val_attribute=None),
        show_progress=False,
    )
    assert result.steps > 0 and result.skipped_images == 0 and "text_to_image_R@1" in result.validation


def test_siglip_loss_and_bf16_and_accumulation_run(tmp_path):
    config = _config(tmp_path / "sig", loss="siglip", precision="bf16", grad_accumulation=2, epochs=1, batch_size=8)
    result = train(config, show_progress=False)
    assert result.steps > 0 and np.isfinite([r["loss"] for r in result.history if r["type"] == "train"]).all()


def test_fp16_storage_still_loads_as_float32(tmp_path):
    from transformers import CLIPModel

    train(_config(tmp_path / "half", save_dtype="float16", epochs=1), show_progress=False)
    assert CLIPModel.from_pretrained(tmp_path / "half").dtype == torch.float32


_KILLER = """
import os, signal, sys
from fashionclip.training import TrainConfig
from fashionclip.training.trainer import Trainer
config = TrainConfig.from_json(sys.argv[1])
kill_at = int(sys.argv[2])
original = Trainer._optimizer_step
def step_then_die(self):
    original(self)
    if self.step == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
Trainer._optimizer_step = step_then_die
Trainer(config, show_progress=False).train()
"""


def test_a_run_killed_mid_epoch_resumes_to_the_same_result(tmp_path):
    whole = train(_config(tmp_path / "whole"), show_progress=False)
    config = _config(tmp_path / "killed")
    (tmp_path / "killed").mkdir()
    config_file = tmp_path / "killed.json"
    config_file.write_text(json.dumps(config.to_dict()))
    steps_per_epoch = whole.steps // 2
    # mid second epoch, at an even step: the last checkpoint (every 2 steps) is 2 steps back,
    # so one finished, logged step is lost and must be redone
    kill_at = steps_per_epoch + 3 + (steps_per_epoch + 3) % 2
    assert kill_at < 2 * steps_per_epoch
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", _KILLER, str(config_file), str(kill_at)], env=env, timeout=300)
    assert done.returncode == -signal.SIGKILL
    state = torch.load(tmp_path / "killed" / CHECKPOINT, weights_only=False)
    assert state["epoch"] == 1 and state["batch_in_epoch"] > 0 and state["step"] == kill_at - 2
    logged = [json.loads(line)["step"] for line in (tmp_path / "killed" / METRICS).read_text().splitlines()]
    assert max(logged) == kill_at - 1  # logged, then lost with the kill

    resumed = Trainer(config, resume=True, show_progress=False).train()
    assert resumed.steps == whole.steps
    for key, value in whole.validation.items():
        assert resumed.validation[key] == pytest.approx(value, abs=1e-6), key
    a = torch.load(tmp_path / "whole" / CHECKPOINT, weights_only=False)["model"]
    b = torch.load(tmp_path / "killed" / CHECKPOINT, weights_only=False)["model"]
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    steps = [
        json.loads(line)["step"]
        for line in (tmp_path / "killed" / METRICS).read_text().splitlines()
        if json.loads(line)["type"] == "train"
    ]
    assert steps == sorted(set(steps))  # no step logged twice


def test_output_with_a_checkpoint_needs_resume_and_resume_needs_a_checkpoint(tmp_path):
    train(_config(tmp_path / "run", epochs=1), show_progress=False)
    with pytest.raises(TrainConfigError, match="pass --resume"):
        train(_config(tmp_path / "run", epochs=1), show_progress=False)
    with pytest.raises(TrainConfigError, match="nothing to resume"):
        train(_config(tmp_path / "fresh"), resume=True, show_progress=False)


def test_unreadable_images_are_skipped_and_counted(tmp_path):
    import csv

    root, rows = sample_catalog()
    rows = [{**r, "image": str(root / r["image"])} for r in rows]
    rows[3]["image"] = str(tmp_path / "missing.jpg")
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    rows[7]["image"] = str(tmp_path / "broken.jpg")
    path = tmp_path / "pairs.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    config = _config(tmp_path / "run", data=[DataSource(str(path), caption_columns=["title"])], epochs=1)
    result = train(config, show_progress=False)
    assert result.skipped_images >= 1


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"model": "x"}, "exactly one of 'model'"),
        ({"architecture": None}, "exactly one of 'model'"),
        ({"epochs": 0}, "epochs must be a positive integer"),
        ({"batch_size": 1}, "batch_size must be at least 2"),
        ({"lr": 0}, "lr must be > 0"),
        ({"loss": "triplet"}, "loss must be 'clip' or 'siglip'"),
        ({"precision": "fp8"}, "precision must be"),
        ({"freeze": ["wings"]}, r"cannot freeze \['wings'\]"),
        ({"val_fraction": 1.0}, "val_fraction must be within"),
        ({"val_prompt": "no slot"}, "val_prompt: template 'no slot' must contain exactly one {}"),
        ({"val_prompt": "a {} {0.__class__}"}, r"val_prompt: .*field \{0.__class__\} is not allowed"),
        ({"val_prompt": "a {} {"}, "val_prompt: .*Single '{' encountered"),
        ({"data": [{"path": "x.csv", "templates": ["{name.__init__.__globals__}"]}]}, "is not allowed"),
        ({"data": [{"path": "x.csv", "image_template": "images/{id!r}.jpg"}]}, "is not allowed"),
        ({"data": [{"path": "x.csv", "mask_template": "m/{photo}}.png", "mask_labels": "l.csv"}]}, "Single '}'"),
        ({"save_dtype": "int8"}, "save_dtype must be"),
        ({"data": []}, "needs at least one source"),
        ({"colour": "red"}, r"unknown option\(s\) \['colour'\]"),
    ],
)
def test_bad_options_are_named(tmp_path, changes, message):
    with pytest.raises(TrainConfigError, match=message):
        _config(tmp_path / "x", **changes)


def test_bad_architecture_and_too_little_data(tmp_path):
    with pytest.raises(TrainConfigError, match=r"unknown key\(s\) \['depth'\]"):
        train(_config(tmp_path / "a", architecture={"depth": 3}), show_progress=False)
    with pytest.raises(TrainConfigError, match="not a multiple of patch_size"):
        train(_config(tmp_path / "b", architecture={**TINY, "image_size": 30}), show_progress=False)
    with pytest.raises(TrainConfigError, match="activation must be 'quick_gelu' or 'gelu', got 'relu'"):
        train(_config(tmp_path / "b", architecture={**TINY, "activation": "relu"}), show_progress=False)
    with pytest.raises(TrainConfigError, match="lower batch_size"):
        train(_config(tmp_path / "c", batch_size=512), show_progress=False)
    with pytest.raises(TrainConfigError, match="leaves nothing to train"):
        train(_config(tmp_path / "d", freeze=["vision", "text"]), show_progress=False)


def test_training_with_mask_regions_beside_whole_images(tmp_path):
    from PIL import Image

    root, rows = sample_catalog()
    (tmp_path / "masks").mkdir()
    (tmp_path / "labels.csv").write_text("index,label\n0,null\n1,upper part\n2,lower part\n")
    for row in rows:
        mask = np.zeros((80, 60), np.uint8)
        mask[5:40], mask[40:75] = 1, 2
        Image.fromarray(mask).save(tmp_path / "masks" / f"{row['id']}.png")
    regions = DataSource(
        str(root / "catalog.csv"),
        caption_columns=[],
        templates=["the {label} of a {articleType}"],
        mask_template=str(tmp_path / "masks" / "{id}.png"),
        mask_labels=str(tmp_path / "labels.csv"),
        ignore_labels=["null"],
        split_group="catalogue",
    )
    config = _config(tmp_path / "run", epochs=1)
    config = replace(config, data=[replace(config.data[0], split_group="catalogue"), regions])
    trainer = Trainer(config, show_progress=False)
    result = trainer.train()
    assert result.steps > 0 and result.skipped_images == 0
    regions_seen = [trainer.examples[i] for i in trainer.val_idx if trainer.examples[i].box is not None]
    assert regions_seen and result.validation["val_items"] == len(trainer.val_idx)
    whole_val = {trainer.examples[i].id for i in trainer.val_idx if trainer.examples[i].box is None}
    assert {e.id.split("#")[0] for e in regions_seen} <= whole_val  # a held-out product's regions are held out
