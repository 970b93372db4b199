"""Views summed into videos, against a hand-computed example."""

import os

import numpy as np
import pytest

from nlkeras.evaluation.video_scores import VideoScores


def test_sums_views_and_counts_missing_videos_as_wrong():
    scores = VideoScores()
    # Video 0 (label 2): views [.5 .4 .1] + [.1 .2 .7] = [.6 .6 .8] -> top-1 class 2, right.
    # Video 1 (label 0): one view [.2 .5 .3] -> top-1 class 1 (wrong), top-2 {1, 2} (wrong),
    #   top-3 right. Video 2 has no view at all.
    scores.add([0, 1], [2, 0], [[0.5, 0.4, 0.1], [0.2, 0.5, 0.3]])
    scores.add([0], [2], [[0.1, 0.2, 0.7]])
    np.testing.assert_allclose(scores.sums[0], [0.6, 0.6, 0.8])
    assert scores.views == {0: 2, 1: 1}
    assert scores.accuracy(1) == pytest.approx(1 / 2)
    assert scores.accuracy(1, num_videos=3) == pytest.approx(1 / 3)
    assert scores.accuracy(2, num_videos=3) == pytest.approx(1 / 3)
    assert scores.accuracy(3, num_videos=3) == pytest.approx(2 / 3)


def test_no_video_is_an_error():
    with pytest.raises(ValueError, match="No videos"):
        VideoScores().accuracy(1)


def test_clip_accuracy_scores_each_view_alone():
    scores = VideoScores()
    # Views: [.5 .4 .1] label 2 -> top-1 0 (wrong), top-5 right; [.1 .2 .7] label 2 -> right;
    # [.2 .5 .3] label 0 -> wrong at top-1.
    scores.add([0, 0, 1], [2, 2, 0], [[0.5, 0.4, 0.1], [0.1, 0.2, 0.7], [0.2, 0.5, 0.3]])
    assert scores.num_views == 3
    assert scores.clip_accuracy(1) == pytest.approx(1 / 3)
    assert scores.clip_accuracy(5) == pytest.approx(1.0)


def test_saves_per_video_scores_without_pickles(tmp_path):
    scores = VideoScores()
    scores.add([3, 1, 3], [2, 0, 2], [[0.5, 0.4, 0.1], [0.2, 0.5, 0.3], [0.1, 0.2, 0.7]],
               [b"vid_c", b"vid_a", b"vid_c"])  # fmt: skip
    scores.save(str(tmp_path / "scores.npz"))
    saved = np.load(tmp_path / "scores.npz", allow_pickle=False)
    assert saved["video_index"].tolist() == [1, 3]
    assert saved["video_id"].tolist() == ["vid_a", "vid_c"]
    assert saved["label"].tolist() == [0, 2]
    assert saved["views"].tolist() == [1, 2]
    np.testing.assert_allclose(saved["scores"], [[0.2, 0.5, 0.3], [0.6, 0.6, 0.8]], atol=1e-7)
    assert os.listdir(tmp_path) == ["scores.npz"]


def test_parts_load_and_merge_into_one(tmp_path):
    """Two workers' parts: videos renumbered, ids, labels, sums and view hits kept."""
    first, second = VideoScores(), VideoScores()
    first.add([0, 0], [2, 2], [[0.5, 0.4, 0.1], [0.1, 0.2, 0.7]], [b"a", b"a"])
    second.add([0, 1], [0, 1], [[0.2, 0.5, 0.3], [0.1, 0.8, 0.1]], [b"b", b"c"])
    first.save(str(tmp_path / "p0.npz"), run_key="k")
    second.save(str(tmp_path / "p1.npz"), run_key="k")
    parts = [VideoScores.load(str(tmp_path / f"p{i}.npz")) for i in range(2)]
    assert [p.run_key for p in parts] == ["k", "k"]
    merged = VideoScores.merge(parts)
    assert merged.ids == {0: "a", 1: "b", 2: "c"}
    assert merged.labels == {0: 2, 1: 0, 2: 1} and merged.views == {0: 2, 1: 1, 2: 1}
    np.testing.assert_allclose(merged.sums[0], [0.6, 0.6, 0.8], atol=1e-7)
    assert merged.accuracy(1) == pytest.approx(2 / 3)  # a and c right, b wrong
    assert merged.clip_accuracy(1) == pytest.approx(
        2 / 4
    )  # views: a0 wrong, a1 right, b wrong, c right


def test_an_empty_part_round_trips_and_merges(tmp_path):
    """A worker whose shards held no usable video still writes its (empty) part."""
    VideoScores().save(str(tmp_path / "empty.npz"), run_key="k")
    empty = VideoScores.load(str(tmp_path / "empty.npz"))
    assert empty.sums == {} and empty.run_key == "k" and empty.num_views == 0
    full = VideoScores()
    full.add([0], [1], [[0.2, 0.8]], [b"v"])
    assert VideoScores.merge([empty, full]).ids == {0: "v"}


def test_clip_accuracy_is_kept_for_top_1_and_5():
    with pytest.raises(ValueError, match="k in \\[1, 5\\]"):
        VideoScores().clip_accuracy(3)
