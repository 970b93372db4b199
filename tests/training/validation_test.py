"""Validation during training: the same fixed view of each video, every time."""

import keras
import numpy as np
import pytest

from nlkeras.data import features, pipelines
from nlkeras.models import build_classifier
from nlkeras.training.validation import validate_clips
from tests.testing import BRIGHTNESS_CLASSES

DATA = dict(batch_size=8, protocol="three_crop", num_clips=3, flip=True, scale=64, sample_rate=2)


def test_validation_scores_one_centre_view_per_video(tiny_data):
    """The first clip, centre crop, no flip, whatever the test protocol; twice the same."""
    keras.utils.set_random_seed(0)
    model = build_classifier(
        num_classes=BRIGHTNESS_CLASSES, num_frames=8, crop_size=64, width=4,
        stage_blocks=(1, 1, 1, 1),
    )  # fmt: skip
    files = str(tiny_data / "test-*")
    result = validate_clips(model, files, DATA)
    assert validate_clips(model, files, DATA) == result
    views = pipelines.eval_dataset(
        files, **{**DATA, "protocol": "center_crop", "num_clips": 1, "flip": False}
    )
    labels, logits = [], []
    for batch in views:
        labels.append(batch[features.LABEL].numpy())
        logits.append(model(batch[features.CLIPS], training=False).numpy())
    labels, logits = np.concatenate(labels), np.concatenate(logits)
    assert len(labels) == 2 * BRIGHTNESS_CLASSES  # one view per validation video
    top1 = np.mean(np.argmax(logits, -1) == labels)
    assert result["val_clip_top1"] == pytest.approx(top1)
    assert result["val_clip_top5"] == 1.0  # 4 classes
