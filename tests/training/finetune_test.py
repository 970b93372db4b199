"""Fine-tuning, `--recipe finetune:BASE`, end to end on a tiny novel synthetic set."""

import json
import logging

import keras
import numpy as np
import pytest
import tensorflow as tf

from export import artifacts
from nlkeras import atomic, cli
from nlkeras import config as config_lib
from nlkeras.data import builder, synthetic
from nlkeras.models import build_classifier
from nlkeras.training.initialisation import initialise
from tests.testing import train_in_process

NOVEL = synthetic.CLASS_SETS["novel"]
# The demo's model and data shrunk to seconds: `(key, value)` for the config and the command line.
TINY = [
    ("model.width", 4), ("model.stage_blocks", (1, 1, 1, 1)), ("data.num_frames", 4),
    ("data.crop_size", 32), ("data.jitter_scales", (32, 40)), ("data.shuffle_buffer", 8),
    ("train.batch_size", 4), ("train.precise_bn_iters", 1), ("test.scale", 32),
    ("test.num_clips", 1), ("test.views_per_batch", 3),
]  # fmt: skip


def tiny(recipe, data=None):
    """The recipe's config with `TINY` applied, reading `data`'s shards when given."""
    config = cli.load_recipe(recipe)
    for key, value in TINY:
        section, field = key.split(".")
        config[section][field] = value
    if data is not None:
        config.data.update(
            train_files=str(data / "train-*"), test_files=str(data / "test-*"), synthetic_dir=""
        )
    return config


@pytest.fixture(scope="module")
def novel(tmp_path_factory):
    """The novel classes, 2 training and 1 test video each, 32x40 frames."""
    folder = tmp_path_factory.mktemp("novel")
    synthetic.make_synthetic_dataset(
        folder, train_per_class=2, test_per_class=1, height=32, width=40, short_side=32,
        num_shards=1, workers=0, progress=False, classes="novel",
    )  # fmt: skip
    return folder


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """A tiny demo model with the novel class count, trained a few iterations on random clips."""
    config = tiny("demo")
    config.model.num_classes = len(NOVEL)
    keras.utils.set_random_seed(1)
    model = build_classifier(**config_lib.model_kwargs(config))
    model.compile(
        optimizer=keras.optimizers.SGD(0.1),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    rng = np.random.default_rng(0)
    clips = rng.normal(size=(8, 4, 32, 32, 3)).astype("float32")
    model.fit(clips, rng.integers(0, len(NOVEL), 8), batch_size=4, epochs=1, verbose=0)
    path = str(tmp_path_factory.mktemp("pretrained") / "pretrained.weights.h5")
    model.save_weights(path)
    return path, model


def weights(model, classifier):
    """The classifier's weights, or all the others, by path."""
    return {v.path: v.numpy() for v in model.weights if v.path.startswith("pred/") == classifier}


def test_recipe_derives_its_schedule_from_the_base():
    base = cli.load_recipe("i3d_nl_8f")
    config = config_lib.validate(cli.load_recipe("finetune:i3d_nl_8f"))
    assert config.model.num_classes == 0
    assert config.train.reinit_classifier and config.train.init_from == "finetune"
    assert config.solver.base_lr == base.solver.base_lr / 2
    assert tuple(config.solver.step_sizes) == (37500, 37500, 25000)
    assert config.solver.max_iter == base.solver.max_iter // 4
    assert (config.model.depth, tuple(config.non_local.stages)) == (50, (3, 4))
    assert config.data.train_files == base.data.train_files


def test_finetune_demo_reads_the_novel_set():
    config = cli.load_recipe("finetune:demo")
    assert config.data.train_files == "data/synthetic_novel/train-*"
    assert config.data.test_files == config.data.val_files == "data/synthetic_novel/test-*"
    assert (config.data.synthetic_dir, config.data.synthetic_classes) == (
        "data/synthetic_novel", "novel",
    )  # fmt: skip
    assert (config.solver.base_lr, tuple(config.solver.step_sizes)) == (0.05, (400, 100))


@pytest.mark.parametrize("recipe", ["finetune", "finetune:nope", "finetune:finetune"])
def test_recipe_needs_a_known_base(recipe):
    with pytest.raises(ValueError, match="--recipe finetune:BASE.*Bases: .*i3d_nl_8f"):
        cli.load_recipe(recipe)


def test_num_classes_from_the_training_summary(novel):
    (summary,) = builder.summaries_of([str(novel / "train-00000-of-00001.tfrecord")]).values()
    assert summary.class_ids == {name: i for i, name in enumerate(NOVEL)}
    config = tiny("finetune:demo", novel)
    assert config_lib.resolve_num_classes(config).model.num_classes == len(NOVEL)
    config.model.num_classes = 7  # set by hand: kept
    assert config_lib.resolve_num_classes(config).model.num_classes == 7


def test_num_classes_falls_back_to_the_test_summary(novel, tmp_path):
    config = tiny("finetune:demo", novel)
    config.data.train_files = str(tmp_path / "train-*")  # not on this machine
    assert config_lib.resolve_num_classes(config).model.num_classes == len(NOVEL)


def test_num_classes_without_a_summary_is_an_error(novel, tmp_path):
    config = tiny("finetune:demo", novel)
    (tmp_path / "train-00000-of-00001.tfrecord").write_bytes(b"")  # shards, no summary
    config.data.update(train_files=str(tmp_path / "train-*"), test_files="")
    with pytest.raises(ValueError, match="num_classes=0 .* build the shards"):
        config_lib.resolve_num_classes(config)


def test_num_classes_is_the_largest_id_plus_one(tmp_path):
    shard = tmp_path / "val-00000-of-00001.tfrecord"
    atomic.write_json(str(tmp_path / "val.summary.json"), {"class_ids": {"a": 0, "c": 2}})
    assert builder.num_classes(builder.summaries_of([str(shard)])) == 3
    none = builder.summaries_of([str(tmp_path / "test-00000-of-00001.tfrecord")])
    assert builder.num_classes(none) == 0


@pytest.mark.parametrize("reinit", [True, False])
def test_initialise_keeps_a_fresh_classifier(pretrained, reinit):
    path, source = pretrained
    config = tiny("demo")
    config.model.num_classes = len(NOVEL)
    model = build_classifier(**config_lib.model_kwargs(config))
    fresh = weights(model, classifier=True)
    initialise(model, path, reinit_classifier=reinit)
    backbone, trained = weights(source, classifier=False), weights(source, classifier=True)
    assert weights(model, classifier=False).keys() == backbone.keys()
    for name, value in weights(model, classifier=False).items():
        np.testing.assert_array_equal(value, backbone[name], err_msg=name)
    for name, value in weights(model, classifier=True).items():
        if reinit:
            np.testing.assert_array_equal(value, fresh[name])
            assert not np.array_equal(value, trained[name])
        else:
            np.testing.assert_array_equal(value, trained[name])


def test_finetune_trains_evaluates_and_exports(novel, pretrained, tmp_path, caplog):
    """The README's path: fine-tune from the demo's weights, test at the end, export."""
    caplog.set_level(logging.INFO)
    workdir = tmp_path / "run"
    settings = {
        "data.train_files": str(novel / "train-*"), "data.val_files": "",
        "data.test_files": str(novel / "test-*"), "data.synthetic_dir": "",
        "train.init_weights": pretrained[0], "solver.max_iter": 4, "solver.step_sizes": (4,),
        "checkpoint.period": 4, **dict(TINY),
    }  # fmt: skip
    summary = train_in_process(settings, workdir, recipe="finetune:demo")
    assert "the classifier pred re-initialised" in caplog.text
    with open(workdir / "config.json") as f:
        assert json.load(f)["model"]["num_classes"] == len(NOVEL)
    with open(workdir / "log.jsonl") as f:
        test = [line for line in map(json.loads, f) if "test_video_top1" in line]
    assert test and test[0]["test_videos"] == summary["videos"] == len(NOVEL)

    config = config_lib.resolve_num_classes(tiny("finetune:demo", novel))
    path = str(tmp_path / "saved_model")
    artifacts.saved_model_only(
        config_lib.model_kwargs(config), config_lib.test_protocol_kwargs(config),
        str(workdir / "final.weights.h5"), list(NOVEL), path,
    )  # fmt: skip
    serve = tf.saved_model.load(path).signatures["serving_default"]
    clip = np.zeros((1, 4, 32, 32, 3), np.uint8)
    assert serve(clips=tf.constant(clip))["probabilities"].shape == (1, len(NOVEL))
