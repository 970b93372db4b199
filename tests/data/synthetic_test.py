"""Tests of `nlkeras.data.synthetic`: shapes, the time-reversal pairs, real motion, mp4 files."""

import re

import cv2
import numpy as np
import pytest

from nlkeras.data import synthetic

H, W = 48, 64
# Objects are drawn in saturated colours with a dark rim; noise is at most
# sigma 8 per channel, so a channel-mean difference of 30 from the clean
# background is object, not noise.
OBJECT_THRESHOLD = 30.0


def _layers(class_index, seed, **kwargs):
    return synthetic.render_video_layers(class_index, np.random.default_rng(seed), H, W, **kwargs)


def _object_pixels(layers):
    """Per-frame boolean masks of the pixels that differ clearly from the clean background."""
    diff = np.abs(layers.frames.astype(np.float32) - layers.background).mean(-1)
    return diff > OBJECT_THRESHOLD


def _x_centroid(mask):
    return np.nonzero(mask)[1].mean()


def test_class_names_are_four_named_pairs():
    assert synthetic.CLASS_NAMES == (
        "move_left",
        "move_right",
        "approach",
        "recede",
        "rotate_clockwise",
        "rotate_counterclockwise",
        "meet",
        "part",
    )


@pytest.mark.parametrize("class_index", range(8))
def test_shape_dtype_and_length(class_index):
    video = synthetic.render_video(class_index, np.random.default_rng(0), H, W)
    assert video.dtype == np.uint8
    assert video.shape[1:] == (H, W, 3)
    assert synthetic.MIN_FRAMES <= len(video) <= synthetic.MAX_FRAMES
    fixed = synthetic.render_video(class_index, np.random.default_rng(0), H, W, num_frames=10)
    assert fixed.shape == (10, H, W, 3)


def test_default_lengths_cover_the_range():
    lengths = {len(_layers(0, seed).frames) for seed in range(20)}
    assert min(lengths) >= 24 and max(lengths) <= 48
    assert len(lengths) > 5


def test_default_size():
    video = synthetic.render_video(6, np.random.default_rng(0), num_frames=4)
    assert video.shape == (4, 96, 128, 3)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="class_index"):
        synthetic.render_video(8, np.random.default_rng(0))
    with pytest.raises(ValueError, match="num_frames"):
        synthetic.render_video(0, np.random.default_rng(0), num_frames=1)


@pytest.mark.parametrize("class_index", range(8))
def test_deterministic_per_seed(class_index):
    a = synthetic.render_video(class_index, np.random.default_rng(5), H, W, num_frames=12)
    b = synthetic.render_video(class_index, np.random.default_rng(5), H, W, num_frames=12)
    c = synthetic.render_video(class_index, np.random.default_rng(6), H, W, num_frames=12)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a.astype(int) - c).mean() > 10


@pytest.mark.parametrize("pair", range(4))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_odd_class_is_even_class_reversed(pair, seed):
    """Same draws, frames reversed, noise included: identical frame sets in both classes."""
    forward = _layers(2 * pair, seed)
    backward = _layers(2 * pair + 1, seed)
    np.testing.assert_array_equal(backward.frames, forward.frames[::-1])
    np.testing.assert_array_equal(backward.alpha, forward.alpha[::-1])
    np.testing.assert_array_equal(backward.background, forward.background)
    # Not a palindrome: the two classes do differ as videos.
    assert np.abs(backward.frames.astype(int) - forward.frames).mean() > 1


@pytest.mark.parametrize("seed", range(6))
def test_move_left_and_right(seed):
    layers = _layers(0, seed)
    pixels = _object_pixels(layers)
    start, end = _x_centroid(pixels[0]), _x_centroid(pixels[-1])
    assert start - end > 0.3 * W  # moves left by a third of the frame or more
    # The pixels agree with the object's alpha layer.
    columns = np.arange(W)
    for t in (0, -1):
        alpha_x = (layers.alpha[t].sum(0) * columns).sum() / layers.alpha[t].sum()
        assert abs(alpha_x - _x_centroid(pixels[t])) < 2.0
    right = _object_pixels(_layers(1, seed))
    assert _x_centroid(right[-1]) - _x_centroid(right[0]) > 0.3 * W


@pytest.mark.parametrize("seed", range(6))
def test_move_left_is_visible_in_a_demo_clip(seed):
    """8 frames at stride 2 (a 16-frame window) show a shift of several pixels."""
    pixels = _object_pixels(_layers(0, seed, num_frames=48))  # slowest: longest video
    assert _x_centroid(pixels[0]) - _x_centroid(pixels[14]) > 0.08 * W


@pytest.mark.parametrize("seed", range(6))
def test_approach_and_recede(seed):
    pixels = _object_pixels(_layers(2, seed))
    assert pixels[-1].sum() > 3 * pixels[0].sum()  # radius grows 2.5-4x
    recede = _object_pixels(_layers(3, seed))
    assert recede[0].sum() > 3 * recede[-1].sum()


def _mean_curl(layers):
    """Mean of (r x v) over the object, from Farneback optical flow: > 0 is clockwise on screen.

    With y pointing down, clockwise turning moves a point at offset (dx, dy)
    from the centre with velocity w * (-dy, dx), so dx * vy - dy * vx > 0.
    """
    curls = []
    for t in range(len(layers.frames) - 1):
        g0, g1 = (cv2.cvtColor(layers.frames[u], cv2.COLOR_RGB2GRAY) for u in (t, t + 1))
        flow = cv2.calcOpticalFlowFarneback(g0, g1, None, 0.5, 2, 9, 3, 5, 1.1, 0)
        inside = layers.alpha[t] > 0.9
        ys, xs = np.nonzero(inside)
        dx, dy = xs - xs.mean(), ys - ys.mean()
        curls.append(np.mean(dx * flow[inside, 1] - dy * flow[inside, 0]))
    return np.array(curls)


@pytest.mark.parametrize("seed", range(3))
def test_rotation_direction(seed):
    clockwise = _mean_curl(_layers(4, seed, num_frames=16))
    counter = _mean_curl(_layers(5, seed, num_frames=16))
    assert (clockwise > 0).mean() > 0.9
    assert (counter < 0).mean() > 0.9


@pytest.mark.parametrize("seed", range(6))
def test_meet_and_part(seed):
    """Two objects: the spread of object pixels along x shrinks (meet) or grows (part)."""
    meet = _object_pixels(_layers(6, seed))
    spread = [np.nonzero(meet[t])[1].std() for t in (0, -1)]
    assert spread[0] > 1.5 * spread[1]
    part = _object_pixels(_layers(7, seed))
    assert np.nonzero(part[-1])[1].std() > 1.5 * np.nonzero(part[0])[1].std()


@pytest.mark.parametrize("class_index", [0, 2, 4, 6])
def test_objects_stay_inside(class_index):
    for seed in range(5):
        alpha = _layers(class_index, seed).alpha
        border = np.concatenate([alpha[:, 0], alpha[:, -1], alpha[:, :, 0], alpha[:, :, -1]], 1)
        assert (border.max(1) < 0.5).mean() > 0.9


def test_background_is_random_cluttered_and_noisy():
    a, b = _layers(0, 0), _layers(0, 1)
    assert np.abs(a.background - b.background).mean() > 10  # differs per video
    assert a.background.std(axis=(0, 1)).min() > 5  # not a flat colour
    # Where no object is, consecutive frames still differ: sensor noise.
    empty = (a.alpha[0] == 0) & (a.alpha[1] == 0)
    step = np.abs(a.frames[1].astype(int) - a.frames[0])[empty]
    assert step.mean() > 2
    assert len(np.unique(a.frames[:, empty].reshape(len(a.frames), -1), axis=0)) == len(a.frames)


def _read_all(path):
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened(), path
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    meta = {
        "count": int(capture.get(cv2.CAP_PROP_FRAME_COUNT)),
        "fps": capture.get(cv2.CAP_PROP_FPS),
        "width": int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
        "height": int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
    }
    capture.release()
    return np.stack(frames), meta


def _smooth(frames):
    return np.stack([cv2.GaussianBlur(f.astype(np.float32), (0, 0), 1.5) for f in frames])


def test_write_synthetic_videos(tmp_path):
    out = tmp_path / "train"
    written = synthetic.write_synthetic_videos(
        out, videos_per_class=2, seed=3, height=H, width=W, fps=10.0, progress=False
    )
    expected = [
        (out / name / f"{name}_{i:04d}.mp4", name) for name in synthetic.CLASS_NAMES for i in (0, 1)
    ]
    assert written == expected
    assert sorted(p.name for p in out.iterdir()) == sorted(synthetic.CLASS_NAMES)
    for class_index, name in enumerate(synthetic.CLASS_NAMES):
        assert sorted(p.name for p in (out / name).iterdir()) == [
            f"{name}_0000.mp4",
            f"{name}_0001.mp4",
        ]
        path = out / name / f"{name}_0001.mp4"
        rendered = synthetic.render_video(
            class_index, np.random.default_rng([3, class_index, 1]), H, W
        )
        decoded, meta = _read_all(path)
        assert decoded.shape == rendered.shape
        assert meta["count"] == len(rendered)
        assert (meta["width"], meta["height"]) == (W, H)
        assert meta["fps"] == pytest.approx(10.0, abs=0.01)
        # Lossy (mp4v drops most pixel noise), but the same picture in the same
        # channel order (RGB -> BGR -> RGB): compare smoothed frames.
        assert np.abs(_smooth(decoded) - _smooth(rendered)).mean() < 5


def test_write_synthetic_videos_progress_bar(tmp_path, capsys):
    written = synthetic.write_synthetic_videos(tmp_path, 1, height=H, width=W, progress=True)
    assert len(written) == 8
    assert all(path.is_file() for path, _ in written)
    assert "8/8" in capsys.readouterr().err


def test_write_video_round_trip(tmp_path):
    frames = synthetic.render_video(4, np.random.default_rng(0), H, W, num_frames=7)
    path = tmp_path / "a" / "b" / "clip.mp4"  # parents are created
    synthetic.write_video(path, frames, fps=24.0)
    decoded, meta = _read_all(path)
    assert decoded.shape == frames.shape
    assert meta["fps"] == pytest.approx(24.0, abs=0.01)


def test_write_video_errors(tmp_path):
    frames = np.zeros((3, H, W, 3), np.uint8)
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")
    bad = blocker / "clip.mp4"  # its parent is a file
    with pytest.raises(RuntimeError, match=re.escape(str(bad))):
        synthetic.write_video(bad, frames)
    folder = tmp_path / "folder.mp4"  # the path is a folder
    folder.mkdir()
    with pytest.raises(RuntimeError, match=re.escape(str(folder))):
        synthetic.write_video(folder, frames)
    with pytest.raises(ValueError, match="uint8"):
        synthetic.write_video(tmp_path / "x.mp4", frames.astype(np.float32))


# The novel class set, for fine-tuning: new motions, the same rules.


def _novel(class_index, seed, **kwargs):
    return _layers(class_index, seed, classes="novel", **kwargs)


def _centroids(alpha):
    """Per-frame (x, y) centre of the object's coverage."""
    ys, xs = np.mgrid[0 : alpha.shape[1], 0 : alpha.shape[2]]
    total = alpha.sum((1, 2))
    return (alpha * xs).sum((1, 2)) / total, (alpha * ys).sum((1, 2)) / total


def test_novel_classes_are_two_new_pairs():
    assert synthetic.CLASS_SETS["demo"] == synthetic.CLASS_NAMES
    assert synthetic.CLASS_SETS["novel"] == (
        "move_up", "move_down", "orbit_clockwise", "orbit_counterclockwise",
    )  # fmt: skip
    assert not set(synthetic.CLASS_SETS["novel"]) & set(synthetic.CLASS_NAMES)


def test_unknown_class_set_and_index_raise():
    with pytest.raises(ValueError, match="Unknown class set 'nope'"):
        _layers(0, 0, classes="nope")
    with pytest.raises(ValueError, match=r"class_index must be in \[0, 4\)"):
        _novel(4, 0)


@pytest.mark.parametrize("class_index", range(4))
def test_novel_set_is_deterministic_and_reversed_in_pairs(class_index):
    a, b = _novel(class_index, 7), _novel(class_index, 7)
    np.testing.assert_array_equal(a.frames, b.frames)
    partner = _novel(class_index ^ 1, 7)
    np.testing.assert_array_equal(a.frames, partner.frames[::-1])


@pytest.mark.parametrize("seed", range(6))
def test_move_up_and_down(seed):
    _, y = _centroids(_novel(0, seed).alpha)
    assert y[0] - y[-1] > 0.3 * H
    _, y = _centroids(_novel(1, seed).alpha)
    assert y[-1] - y[0] > 0.3 * H


@pytest.mark.parametrize("seed", range(6))
def test_orbit_direction(seed):
    """The centre's path encloses area: positive shoelace sum (y down) is clockwise."""
    for class_index, sign in ((2, 1), (3, -1)):
        x, y = _centroids(_novel(class_index, seed).alpha)
        assert sign * np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]) > 0
        assert np.hypot(x - x.mean(), y - y.mean()).min() > 0.1 * H  # it circles, not spins


@pytest.mark.parametrize("class_index", [0, 2])
def test_novel_objects_stay_inside(class_index):
    for seed in range(5):
        alpha = _novel(class_index, seed).alpha
        border = np.concatenate([alpha[:, 0], alpha[:, -1], alpha[:, :, 0], alpha[:, :, -1]], 1)
        assert (border.max(1) < 0.5).mean() > 0.9


def test_write_novel_videos_draw_apart_from_the_demo(tmp_path):
    written = synthetic.write_synthetic_videos(
        tmp_path, 1, seed=3, height=H, width=W, progress=False, classes="novel"
    )
    assert [name for _, name in written] == list(synthetic.CLASS_SETS["novel"])
    # Novel class c is class 8 + c among all sets' classes: no demo video shares its draws.
    decoded, _ = _read_all(written[0][0])
    rendered = synthetic.render_video(0, np.random.default_rng([3, 8, 0]), H, W, classes="novel")
    assert np.abs(_smooth(decoded) - _smooth(rendered)).mean() < 5
    demo = synthetic.render_video_layers(0, np.random.default_rng([3, 0, 0]), H, W)
    novel = synthetic.render_video_layers(
        0, np.random.default_rng([3, 8, 0]), H, W, classes="novel"
    )
    assert np.abs(demo.background - novel.background).mean() > 10
