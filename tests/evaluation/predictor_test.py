"""`nlkeras.predict`: video files through the test protocol, against the SavedModel and evaluate."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from export.saved_model import write_saved_model
from export.serving import ServingFunctions
from nlkeras import cli
from nlkeras import config as config_lib
from nlkeras.data import builder, pipelines, sources, synthetic, video_io, views
from nlkeras.evaluation.predictor import VideoPredictor, predict_videos, top_classes
from nlkeras.evaluation.video_scores import score_views
from nlkeras.models import build_classifier
from tests.testing import calibrated

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLASSES = ("move_left", "move_right", "approach")
PROTOCOL = dict(num_frames=4, sample_rate=2, num_clips=3, scale=48, views_per_batch=3)


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """Two videos per class in class folders, as `tools.build_tfrecords --videos` reads them."""
    root = tmp_path_factory.mktemp("videos")
    for c, name in enumerate(CLASSES):
        for i in range(2):
            frames = synthetic.render_video(c, np.random.default_rng([5, c, i]), 60, 80)
            synthetic.write_video(root / name / f"{name}_{i}.mp4", frames)
    return root


@pytest.fixture(scope="module")
def model():
    tiny = build_classifier(
        num_classes=len(CLASSES),
        num_frames=4,
        crop_size=32,
        width=4,
        stage_blocks=(1, 1, 1, 1),
        non_local_stages=(3,),
        non_local_layer_mod=1,
        head="probabilities",
    )
    return calibrated(tiny, (2, 4, 48, 48, 3))


def predictor_for(model, protocol="three_crop", **options):
    return VideoPredictor(model, views.TestViews(protocol, **PROTOCOL), short_side=48, **options)


def test_sampled_frames_are_the_full_decode_at_the_protocol_indices(videos):
    path = str(videos / "approach" / "approach_0.mp4")
    test_views = views.TestViews(**PROTOCOL)
    for fps in (None, 5.0):
        all_frames, _ = video_io.read_video(path, short_side=48, target_fps=fps)
        count, indices, frames = video_io.read_sampled_frames(
            path, lambda n: test_views.frame_indices(n).numpy(), 48, fps
        )
        assert count == len(all_frames)
        expected = np.unique(test_views.frame_indices(count).numpy())
        np.testing.assert_array_equal(indices, expected)
        np.testing.assert_array_equal(frames, all_frames[expected])


def test_a_long_video_keeps_only_the_sampled_frames(tmp_path):
    """600 frames, 3 clips x 4 frames: 12 frames held, whatever the length."""
    frames = np.random.default_rng(0).integers(0, 256, (600, 32, 32, 3), dtype=np.uint8)
    synthetic.write_video(tmp_path / "long.mp4", frames, fps=30)
    test_views = views.TestViews(**PROTOCOL)
    count, indices, kept = video_io.read_sampled_frames(
        str(tmp_path / "long.mp4"), lambda n: test_views.frame_indices(n).numpy(), 32
    )
    assert count == 600 and kept.shape == (12, 32, 32, 3) and len(indices) == 12


@pytest.mark.parametrize("protocol", ["three_crop", "full_frame"])
def test_probabilities_equal_the_saved_models_video_signature(videos, model, protocol, tmp_path):
    functions = ServingFunctions(model, protocol=protocol, **PROTOCOL)
    write_saved_model(functions, list(CLASSES), str(tmp_path / "model"))
    video = tf.saved_model.load(str(tmp_path / "model")).signatures["video"]
    predictor = predictor_for(model, protocol)
    for path in sorted(videos.glob("*/*.mp4")):
        frames, _ = video_io.read_video(str(path), short_side=48)
        served = video(frames=tf.constant(frames))["probabilities"].numpy()
        prediction = predictor.predict(str(path))
        np.testing.assert_allclose(prediction.probabilities, served, atol=1e-5)
        assert prediction.features.shape == (predictor.test_views.views_per_video, 128)


def test_top1_agrees_with_evaluation_on_the_builders_records(videos, model, tmp_path):
    """The records hold the same frames re-encoded as JPEG: close, not bit-equal."""
    entries = sources.from_class_folders(str(videos), {n: i for i, n in enumerate(CLASSES)})
    builder.build_tfrecords(
        entries, str(tmp_path), name="test", num_shards=1, workers=0, short_side=48
    )
    files = pipelines.list_files(str(tmp_path / "test-*"))
    dataset = pipelines.eval_dataset(files, batch_size=3, **views_options())
    scores = score_views(model, dataset)
    predictor = predictor_for(model)
    for video, entry in zip(sorted(scores.ids), entries, strict=True):
        assert scores.ids[video] == entry.video_id
        predicted = predictor.predict(entry.path).probabilities
        evaluated = scores.sums[video] / predictor.test_views.views_per_video
        assert np.argmax(predicted) == np.argmax(evaluated), entry.path
        np.testing.assert_allclose(predicted, evaluated, atol=0.05)


def views_options():
    options = dict(PROTOCOL)
    del options["views_per_batch"]
    return options


def test_a_folder_with_bad_videos_gives_the_table_json_lines_and_features(
    videos, model, tmp_path, capsys
):
    (tmp_path / "broken.mp4").write_text("not a video")
    (tmp_path / "empty.mp4").write_bytes(b"")
    listed = tmp_path / "list.txt"
    listed.write_text(f"{videos}/approach/approach_1.mp4 2\nmissing.mp4\n")
    paths = sources.video_files([str(videos / "move_left"), str(tmp_path), str(listed)])
    assert [os.path.basename(p) for p in paths] == [
        "move_left_0.mp4", "move_left_1.mp4", "broken.mp4", "empty.mp4",
        "approach_1.mp4", "missing.mp4",
    ]  # fmt: skip
    predictor = predictor_for(model)
    names = ["left", "right", "approach"]
    unreadable = predict_videos(
        predictor, paths, names, top_k=2, results=str(tmp_path / "top.jsonl"),
        features=str(tmp_path / "features.npz"),
    )  # fmt: skip
    assert set(unreadable) == {paths[2], paths[3], paths[5]}
    assert unreadable[paths[3]] == "empty file (0 bytes)"
    assert unreadable[paths[5]] == "file not found"
    printed = capsys.readouterr().out
    assert f"{paths[5]}: skipped, file not found" in printed
    lines = [json.loads(line) for line in (tmp_path / "top.jsonl").read_text().splitlines()]
    assert [line["video"] for line in lines] == paths
    first = predictor.predict(paths[0]).probabilities
    assert lines[0]["top"] == top_classes(first, names, 2)
    assert lines[0]["top"][0]["class"] in printed and "error" in lines[2]
    with np.load(tmp_path / "features.npz") as saved:
        assert list(saved["videos"]) == [paths[0], paths[1], paths[4]]
        assert saved["features"].shape == (3, 128)
        expected = predictor.predict(paths[4]).features.mean(axis=0)
        np.testing.assert_allclose(saved["features"][2], expected, rtol=1e-6)
    assert sorted(os.listdir(tmp_path)) == [
        "broken.mp4",
        "empty.mp4",
        "features.npz",
        "list.txt",
        "top.jsonl",
    ]  # fmt: skip (no temporary file left)


def test_per_view_features(videos, model, tmp_path):
    predictor = predictor_for(model)
    path = str(videos / "move_right" / "move_right_0.mp4")
    features = str(tmp_path / "views.npz")
    predict_videos(predictor, [path], list(CLASSES), features=features, per_view=True)
    with np.load(features) as saved:
        np.testing.assert_allclose(saved["features"][0], predictor.predict(path).features)
        assert saved["features"].shape == (1, 9, 128)


def test_the_command_exits_1_when_no_video_can_be_read(tmp_path):
    (tmp_path / "broken.mp4").write_text("not a video")
    weights = str(tmp_path / "demo.weights.h5")
    build_classifier(**config_lib.model_kwargs(cli.load_recipe("demo"))).save_weights(weights)
    result = subprocess.run(
        [sys.executable, "-m", "nlkeras.predict", "--recipe", "demo", "--weights", weights,
         str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr[-2000:]
    assert "broken.mp4: skipped, not a readable video" in result.stdout
    assert "0 of 1 videos predicted" in result.stdout
    assert result.stderr.strip().splitlines()[-1] == "error: no video could be read."
