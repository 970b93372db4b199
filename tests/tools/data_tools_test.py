"""`tools.make_synthetic` and `tools.benchmark data` on a tiny synthetic set."""

import json
import os
import subprocess
import sys

import pytest
import tensorflow as tf

from nlkeras.data import features, records
from nlkeras.data.synthetic import CLASS_NAMES, make_synthetic_dataset

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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


def test_benchmark_prints_rates_as_table_and_json(synthetic, tmp_path):
    out, _ = synthetic
    report = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-m", "tools.benchmark", "data", "--recipe", "demo",
         f"--data={out / 'train-*'}", "--batches=1", "--warmup=1", "--rounds=1",
         "--config.train.batch_size=2", "--config.test.views_per_batch=3", f"--json={report}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "sampled JPEG decode" in result.stdout and "of decode limit" in result.stdout
    data = json.loads(report.read_text())
    assert set(data["clips_per_second"]) == {"sampled JPEG decode", "train", "test views"}
    assert all(rate > 0 for rate in data["clips_per_second"].values())
    assert json.loads(result.stdout.strip().splitlines()[-1]) == data
