"""`tools.make_synthetic` and `tools.benchmark data`'s runs on a tiny synthetic set."""

import json

import pytest
import tensorflow as tf

from nlkeras import benchmarks
from nlkeras import config as config_lib
from nlkeras.data import features, records
from nlkeras.data.synthetic import CLASS_NAMES, make_synthetic_dataset
from tests.testing import recipe_config


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic")
    summaries = make_synthetic_dataset(
        out, train_per_class=2, test_per_class=1, num_shards=2, workers=0, progress=False
    )
    return out, summaries


def test_synthetic_dataset_has_both_splits_with_pair_ordered_ids(synthetic):
    out, summaries = synthetic
    assert summaries["train"].videos_written == 16 and summaries["test"].videos_written == 8
    assert summaries["train"].videos_skipped == 0
    labels = {}
    for path in tf.io.gfile.glob(str(out / "test-*")):
        for serialized in tf.data.TFRecordDataset(path):
            video = records.parse_sequence_example(serialized)
            labels[video[features.LABEL_TEXT].numpy().decode()] = int(video[features.LABEL])
    # Ids follow CLASS_NAMES, so the time-reversed pairs are (0, 1), (2, 3), ...
    assert labels == {name: i for i, name in enumerate(CLASS_NAMES)}
    again = make_synthetic_dataset(
        out, train_per_class=2, test_per_class=1, num_shards=2, workers=0, progress=False
    )
    assert again["train"].input_hash == summaries["train"].input_hash


def test_an_unknown_class_set_is_named_before_anything_is_written(tmp_path):
    message = r"Unknown class set 'nvel'; choose from \['demo', 'novel'\]"
    with pytest.raises(ValueError, match=message):
        make_synthetic_dataset(tmp_path / "out", classes="nvel")
    assert not (tmp_path / "out").exists()


def test_benchmark_prints_rates_as_table_and_json(synthetic, tmp_path, capsys):
    """`tools.benchmark data --recipe demo --batches=1 --warmup=1 --rounds=1 --json=...`."""
    out, _ = synthetic
    settings = {"train.batch_size": 2, "test.views_per_batch": 3}
    config = config_lib.validate(recipe_config("demo", settings))
    config.recipe = "demo"
    report = tmp_path / "report.json"
    benchmarks.run(
        "data", config, data=str(out / "train-*"), batches=1, warmup=1, rounds=1, json_path=report
    )
    stdout = capsys.readouterr().out
    assert "sampled JPEG decode" in stdout and "of decode limit" in stdout
    data = json.loads(report.read_text())
    assert set(data["clips_per_second"]) == {"sampled JPEG decode", "train", "test views"}
    assert all(rate > 0 for rate in data["clips_per_second"].values())
    assert json.loads(stdout.strip().splitlines()[-1]) == data


def test_benchmark_model_reports_both_phases_against_the_machine_peak(capsys):
    """`tools.benchmark model --recipe demo`: times, memory peaks, rates, fractions of the peak."""
    config = config_lib.validate(recipe_config("demo", {}))
    config.recipe = "demo"
    report = benchmarks.run("model", config, warmup=1, rounds=1, batch=2)
    assert report["input"] == [2, 8, 64, 64, 3] and report["precision"] == "float32"
    assert report["machine_gmac_per_second"]["float32"] > 0
    for name in ("forward", "train_step"):
        phase = report[name]
        assert phase["seconds"] > 0 and phase["peak_mib"] > 100
        assert phase["clips_per_second"] == pytest.approx(2 / phase["seconds"])
        macs = 2 * report["forward_gmacs_per_clip"] * (3 if name == "train_step" else 1)
        assert phase["gmac_per_second"] == pytest.approx(macs / phase["seconds"])
        peak = report["machine_gmac_per_second"]["float32"]
        assert phase["fraction_of_float32_peak"] == pytest.approx(phase["gmac_per_second"] / peak)
    assert "train_step" in capsys.readouterr().out


def test_benchmark_refusals_name_the_flag():
    config = config_lib.validate(recipe_config("demo", {}))
    with pytest.raises(ValueError, match="--data is required"):
        benchmarks.run("data", config)
    with pytest.raises(ValueError, match="serve needs --weights"):
        benchmarks.run("serve", config)
    with pytest.raises(ValueError, match=r"--precision must be one of .*'float16'"):
        benchmarks.run("model", config, precision="float16")
    with pytest.raises(ValueError, match="Unknown benchmark 'models': data, model or serve"):
        benchmarks.run("models", config)
