"""A synthetic video dataset whose classes differ only in temporal order.

Two class sets (`CLASS_SETS`) of time-reversed pairs: the demo's eight classes,
and four novel ones (move up / down, orbit clockwise / counter-clockwise) that
the demo never sees, to fine-tune on. Within a set, class `2k + 1` is class
`2k` played backwards. The odd class is made by rendering the even class's
video with the same random draws (sensor noise included) and reversing the frame order, so a
video's *set* of frames has exactly the same distribution in both classes of a
pair. A C2D model (a 2D network per frame followed by order-invariant temporal
pooling) therefore cannot beat chance within a pair, while a model that mixes
information across time (I3D, non-local blocks) can: the dataset is a quick
check, on a laptop CPU, that the temporal parts of a model work.

Each video shows one or two textured objects (a randomly coloured disc, square
or polygon with stripes, checks or spokes and an off-centre dot, so that
rotation is visible) over a random cluttered background, with per-frame sensor
noise. Sizes, speeds, colours and start positions are random per video.

    from nlkeras.data import synthetic
    synthetic.write_synthetic_videos("data/synthetic/train", videos_per_class=40, seed=0)

writes `data/synthetic/train/<class_name>/<class_name>_0000.mp4`, ..., the
folder-per-class layout that `tools.build_tfrecords --videos` reads.

numpy and OpenCV only: no TensorFlow, so that generating data stays cheap.
"""

import math
import pathlib
from typing import NamedTuple

import cv2
import numpy as np

from nlkeras.data import builder, sources

CLASS_SETS = {
    "demo": (
        "move_left",
        "move_right",
        "approach",
        "recede",
        "rotate_clockwise",
        "rotate_counterclockwise",
        "meet",
        "part",
    ),
    "novel": ("move_up", "move_down", "orbit_clockwise", "orbit_counterclockwise"),
}
CLASS_NAMES = CLASS_SETS["demo"]
# Every class of every set, the demo's first: a class's position here keys its
# random draws, so no two classes (of one set or of two) share videos.
_ALL_CLASSES = tuple(name for names in CLASS_SETS.values() for name in names)
MIN_FRAMES = 24
MAX_FRAMES = 48

_SHAPES = ("disc", "square", "triangle", "polygon")
_PATTERNS = ("stripes", "checks", "spokes")


class VideoLayers(NamedTuple):
    """A rendered video and the layers it was composed from (for tests and debugging).

    Attributes:
        frames: uint8 RGB video, `(num_frames, height, width, 3)`.
        background: float32 RGB static background before lighting and noise,
            `(height, width, 3)`, values in [0, 255].
        alpha: float32 object coverage per frame, `(num_frames, height, width)`,
            in [0, 1]; 0 where only background shows.
    """

    frames: np.ndarray
    background: np.ndarray
    alpha: np.ndarray


class _Pose(NamedTuple):
    """One object's trajectory: per-frame centre (x, y), radius and angle (degrees, CCW)."""

    x: np.ndarray
    y: np.ndarray
    radius: np.ndarray
    angle: np.ndarray


def render_video(class_index, rng, height=96, width=128, num_frames=None, classes="demo"):
    """Renders one video of class `class_index`.

    Args:
        class_index: index into `CLASS_SETS[classes]`.
        rng: a `np.random.Generator`; every random choice is drawn from it, so
            equal generator states give equal videos.
        height: frame height in pixels.
        width: frame width in pixels.
        num_frames: video length; default a random length in [24, 48].
        classes: the class set, a key of `CLASS_SETS`.

    Returns:
        uint8 RGB array `(num_frames, height, width, 3)`.
    """
    return render_video_layers(class_index, rng, height, width, num_frames, classes).frames


def render_video_layers(class_index, rng, height=96, width=128, num_frames=None, classes="demo"):
    """Renders one video like `render_video`, also returning its background and object alpha.

    The extra layers let tests measure where the objects are without
    re-deriving them from noisy pixels. Odd classes reverse all per-frame layers.

    Returns:
        A `VideoLayers`.
    """
    names = class_names(classes)
    if not 0 <= class_index < len(names):
        raise ValueError(f"class_index must be in [0, {len(names)}), got {class_index}.")
    if height < 16 or width < 16:
        raise ValueError(f"Frames must be at least 16x16, got {height}x{width}.")
    # Every draw happens here, in the same order for both classes of a pair;
    # the odd class only reverses the finished frames.
    if num_frames is None:
        num_frames = int(rng.integers(MIN_FRAMES, MAX_FRAMES + 1))
    if num_frames < 2:
        raise ValueError(f"num_frames must be at least 2, got {num_frames}.")
    background = _background(rng, height, width)
    motion = _MOTIONS[names[class_index - class_index % 2]]
    poses = motion(rng, height, width, num_frames)
    sprites = [_sprite(rng, float(np.max(pose.radius))) for pose in poses]
    frames, alpha = _compose(background, poses, sprites, height, width, num_frames)
    # Lighting flicker and sensor noise, drawn per frame before any reversal.
    gain = 1.0 + rng.normal(0.0, 0.01, (num_frames, 1, 1, 1)).astype(np.float32)
    sigma = rng.uniform(3.0, 8.0)
    noise = rng.standard_normal(frames.shape, dtype=np.float32) * np.float32(sigma)
    frames = np.clip(np.rint(frames * gain + noise), 0, 255).astype(np.uint8)
    if class_index % 2:
        frames, alpha = frames[::-1], alpha[::-1]
    return VideoLayers(np.ascontiguousarray(frames), background, np.ascontiguousarray(alpha))


def write_video(path, frames, fps=12.0):
    """Writes RGB `frames` `(num_frames, height, width, 3)` uint8 to an .mp4 (MPEG-4, "mp4v").

    Creates the parent folders.

    Raises:
        ValueError: if `frames` is not a non-empty uint8 RGB video.
        RuntimeError: naming `path`, if the file cannot be created or opened for writing.
    """
    path = pathlib.Path(path)
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or not len(frames):
        raise ValueError(
            "frames must be uint8 (num_frames, height, width, 3), "
            f"got {frames.dtype} {frames.shape}."
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RuntimeError(f"Cannot create the folder for video {path}: {error}") from error
    height, width = frames.shape[1:3]
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (width, height)
    )
    try:
        if not writer.isOpened():
            raise RuntimeError(
                f"cv2.VideoWriter cannot open {path} for writing (mp4v, {width}x{height}, "
                f"{fps} fps): is the path writable, and is it not a folder?"
            )
        for frame in frames:
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()


def class_names(classes):
    """The class names of set `classes` by class id, or a `ValueError` naming the sets."""
    if classes not in CLASS_SETS:
        raise ValueError(f"Unknown class set {classes!r}; choose from {sorted(CLASS_SETS)}.")
    return CLASS_SETS[classes]


def write_synthetic_videos(
    out_dir, videos_per_class, seed=0, height=96, width=128, fps=12.0, progress=True,
    classes="demo",
):  # fmt: skip
    """Writes `videos_per_class` videos of every class as `out_dir/<class>/<class>_<i:04d>.mp4`.

    Video `i` of a class is drawn from `np.random.default_rng([seed, k, i])`,
    `k` the class's position among all sets' classes (the demo's first, so
    its class id): the output depends only on the arguments, any one video
    can be regenerated alone, and the sets share no draws. Use different
    seeds for the train and val splits.

    Returns:
        A list of `(path, class_name)` tuples, class by class.
    """
    out_dir = pathlib.Path(out_dir)
    names = class_names(classes)
    jobs = [(c, i) for c in range(len(names)) for i in range(videos_per_class)]
    if progress:
        from tqdm import tqdm

        jobs = tqdm(jobs, desc=f"synthetic videos -> {out_dir}", unit="video")
    written = []
    for class_index, i in jobs:
        name = names[class_index]
        rng = np.random.default_rng([seed, _ALL_CLASSES.index(name), i])
        path = out_dir / name / f"{name}_{i:04d}.mp4"
        write_video(path, render_video(class_index, rng, height, width, classes=classes), fps)
        written.append((path, name))
    return written


def make_synthetic_dataset(
    out_dir,
    train_per_class=40,
    test_per_class=10,
    seed=0,
    height=96,
    width=128,
    short_side=96,
    num_shards=4,
    workers=2,
    progress=True,
    classes="demo",
):
    """Writes the videos, then builds `train-*` and `test-*` TFRecords with the real builder.

    Videos go to `out_dir/videos/{train,test}/<class>/`; class ids follow
    `CLASS_SETS[classes]`, so the time-reversed pairs are (0, 1), (2, 3), ...
    The two splits draw from different seeds. Finished shards are reused when
    run again. Returns `{split: builder summary}`.
    """
    out_dir = pathlib.Path(out_dir)
    ids = {name: i for i, name in enumerate(class_names(classes))}
    summaries = {}
    for split, per_class, split_seed in (
        ("train", train_per_class, seed),
        ("test", test_per_class, seed + 1),
    ):
        videos = out_dir / "videos" / split
        if not (out_dir / f"{split}.summary.json").exists():
            write_synthetic_videos(
                videos, per_class, split_seed, height, width, progress=progress, classes=classes
            )
        summaries[split] = builder.build_tfrecords(
            sources.from_class_folders(str(videos), ids),
            str(out_dir),
            name=split,
            num_shards=num_shards,
            workers=workers,
            short_side=short_side,
            shuffle_seed=seed if split == "train" else None,
            progress=progress,
        )
    return summaries


# Motions: each renders the even class of a pair ("forward" time) and returns
# one `_Pose` per object. Sizes are relative to the shorter side, distances to
# the frame, so the look is the same at any resolution.


def _linear(start, end, num_frames):
    return np.linspace(start, end, num_frames, dtype=np.float64)


def _move_left(rng, height, width, num_frames):
    """One object crossing 40-65% of the width leftwards, with a slight vertical drift."""
    short = min(height, width)
    radius = rng.uniform(0.12, 0.2) * short
    distance = min(rng.uniform(0.4, 0.65) * width, width - 2 * radius - 4)
    x_start = rng.uniform(radius + 2 + distance, width - radius - 2)
    drift = rng.uniform(-0.15, 0.15) * distance
    y_low, y_high = radius + 2 + max(0.0, -drift), height - radius - 2 - max(0.0, drift)
    y_start = rng.uniform(y_low, max(y_low, y_high))
    angle = np.full(num_frames, rng.uniform(0, 360))
    return [
        _Pose(
            _linear(x_start, x_start - distance, num_frames),
            _linear(y_start, y_start + drift, num_frames),
            np.full(num_frames, radius),
            angle,
        )
    ]


def _approach(rng, height, width, num_frames):
    """One object growing 2.5-4x in radius, exponentially (looming), nearly in place."""
    short = min(height, width)
    radius_end = rng.uniform(0.26, 0.4) * short
    growth = rng.uniform(2.5, 4.0)
    radius = radius_end * growth ** (np.linspace(0.0, 1.0, num_frames) - 1.0)
    x_end = rng.uniform(radius_end + 2, width - radius_end - 2)
    y_end = rng.uniform(radius_end + 2, height - radius_end - 2)
    # The drift shrinks with the radius so the object stays inside.
    dx, dy = rng.uniform(-0.08, 0.08, 2) * short
    shrink = 1.0 - radius / radius_end
    angle = np.full(num_frames, rng.uniform(0, 360))
    return [_Pose(x_end + dx * shrink, y_end + dy * shrink, radius, angle)]


def _rotate_clockwise(rng, height, width, num_frames):
    """One object turning clockwise at 6-12 degrees per frame, drifting a little."""
    short = min(height, width)
    radius = rng.uniform(0.2, 0.32) * short
    speed = rng.uniform(6.0, 12.0)
    angle_start = rng.uniform(0, 360)
    # cv2 angles are counter-clockwise on screen: clockwise turning decreases them.
    angle = angle_start - speed * np.arange(num_frames)
    x0 = rng.uniform(radius + 2, width - radius - 2)
    y0 = rng.uniform(radius + 2, height - radius - 2)
    x1 = np.clip(x0 + rng.uniform(-0.1, 0.1) * short, radius + 2, width - radius - 2)
    y1 = np.clip(y0 + rng.uniform(-0.1, 0.1) * short, radius + 2, height - radius - 2)
    return [
        _Pose(
            _linear(x0, x1, num_frames),
            _linear(y0, y1, num_frames),
            np.full(num_frames, radius),
            angle,
        )
    ]


def _meet(rng, height, width, num_frames):
    """Two objects closing on each other along a near-horizontal axis until they almost touch."""
    short = min(height, width)
    radii = rng.uniform(0.1, 0.16, 2) * short
    tilt = math.radians(rng.uniform(-30.0, 30.0))
    ux, uy = math.cos(tilt), math.sin(tilt)
    gap_end = radii.sum() * rng.uniform(1.0, 1.3)
    gap_start = gap_end + rng.uniform(0.4, 0.6) * width
    # Both objects must fit at the start, where they are furthest apart.
    margin = radii.max() + 2
    limit = min((width / 2 - margin) / abs(ux), (height / 2 - margin) / max(abs(uy), 1e-6))
    gap_start = max(min(gap_start, 2 * limit), gap_end + 0.2 * width)
    half_x, half_y = abs(ux) * gap_start / 2 + margin, abs(uy) * gap_start / 2 + margin
    mx = rng.uniform(min(half_x, width / 2), max(width - half_x, width / 2))
    my = rng.uniform(min(half_y, height / 2), max(height - half_y, height / 2))
    gap = _linear(gap_start, gap_end, num_frames)
    angles = rng.uniform(0, 360, 2)
    return [
        _Pose(
            mx - sign * ux * gap / 2,
            my - sign * uy * gap / 2,
            np.full(num_frames, r),
            np.full(num_frames, a),
        )
        for sign, r, a in zip((1.0, -1.0), radii, angles, strict=True)
    ]


def _move_up(rng, height, width, num_frames):
    """One object crossing 40-65% of the height upwards, with a slight horizontal drift."""
    short = min(height, width)
    radius = rng.uniform(0.12, 0.2) * short
    distance = min(rng.uniform(0.4, 0.65) * height, height - 2 * radius - 4)
    y_start = rng.uniform(radius + 2 + distance, height - radius - 2)
    drift = rng.uniform(-0.15, 0.15) * distance
    x_low, x_high = radius + 2 + max(0.0, -drift), width - radius - 2 - max(0.0, drift)
    x_start = rng.uniform(x_low, max(x_low, x_high))
    angle = np.full(num_frames, rng.uniform(0, 360))
    return [
        _Pose(
            _linear(x_start, x_start + drift, num_frames),
            _linear(y_start, y_start - distance, num_frames),
            np.full(num_frames, radius),
            angle,
        )
    ]


def _orbit_clockwise(rng, height, width, num_frames):
    """One object circling a point clockwise, 0.5-0.9 of a turn, without turning itself."""
    short = min(height, width)
    radius = rng.uniform(0.1, 0.15) * short
    orbit = rng.uniform(0.18, 0.28) * short
    margin = orbit + radius + 2
    cx = rng.uniform(margin, width - margin)
    cy = rng.uniform(margin, height - margin)
    # y points down on screen: a growing angle turns clockwise.
    theta = rng.uniform(0, 2 * np.pi) + _linear(0.0, rng.uniform(0.5, 0.9) * 2 * np.pi, num_frames)
    angle = np.full(num_frames, rng.uniform(0, 360))
    return [
        _Pose(
            cx + orbit * np.cos(theta),
            cy + orbit * np.sin(theta),
            np.full(num_frames, radius),
            angle,
        )
    ]


# The motion of each pair's forward class, by its name.
_MOTIONS = {
    "move_left": _move_left,
    "approach": _approach,
    "rotate_clockwise": _rotate_clockwise,
    "meet": _meet,
    "move_up": _move_up,
    "orbit_clockwise": _orbit_clockwise,
}


# Drawing.


def _hsv_to_rgb(h, s, v):
    """One RGB colour (float 0-255) from hue in degrees and saturation, value in [0, 1]."""
    pixel = np.array([[[h % 360, s, v]]], np.float32)
    return cv2.cvtColor(pixel, cv2.COLOR_HSV2RGB)[0, 0] * 255.0


def _background(rng, height, width):
    """A static, cluttered background: smooth colour field, random shapes, fine texture."""
    base = _hsv_to_rgb(rng.uniform(0, 360), rng.uniform(0.1, 0.5), rng.uniform(0.3, 0.75))
    # Mostly brightness, a little colour: blotchy like a real scene, not like confetti.
    coarse = rng.normal(0.0, 1.0, (height // 16 + 2, width // 16 + 2, 4)).astype(np.float32)
    coarse = coarse[..., :1] + 0.4 * coarse[..., 1:]
    field = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    image = np.ascontiguousarray(base + field * np.float32(rng.uniform(15, 35)), np.float32)
    short = min(height, width)
    for _ in range(int(rng.integers(8, 20))):
        colour = 0.5 * base + 0.5 * rng.uniform(0, 255, 3)
        colour = tuple(float(c) for c in colour)
        cx, cy = int(rng.integers(0, width)), int(rng.integers(0, height))
        size = max(2, int(rng.uniform(0.04, 0.2) * short))
        thickness = -1 if rng.random() < 0.6 else int(rng.integers(1, 4))
        kind = rng.integers(0, 3)
        if kind == 0:
            axes = (size, max(1, int(size * rng.uniform(0.3, 1.0))))
            angle = float(rng.uniform(0, 180))
            cv2.ellipse(image, (cx, cy), axes, angle, 0, 360, colour, thickness, cv2.LINE_AA)
        elif kind == 1:
            w, h = (int(v) for v in rng.integers(2, 2 * size + 3, 2))
            cv2.rectangle(image, (cx, cy), (cx + w, cy + h), colour, thickness, cv2.LINE_AA)
        else:
            end = (
                cx + int(rng.integers(-2 * size, 2 * size + 1)),
                cy + int(rng.integers(-size, size + 1)),
            )
            cv2.line(image, (cx, cy), end, colour, max(1, thickness), cv2.LINE_AA)
    texture = cv2.GaussianBlur(
        rng.normal(0.0, 1.0, (height, width, 3)).astype(np.float32), (0, 0), 0.8
    )
    image += texture * np.float32(rng.uniform(4, 12))
    return np.clip(cv2.GaussianBlur(image, (0, 0), 0.6), 0, 255)


def _sprite(rng, max_radius):
    """A textured object drawn at twice its largest on-screen radius (downscaling anti-aliases).

    Returns a premultiplied float32 RGBA image `(size, size, 4)` whose shape is
    centred and has circumradius `radius`, and that radius.
    """
    radius = max(8, int(math.ceil(2 * max_radius)))
    size = 2 * radius + 5
    centre = (size - 1) / 2
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) - np.float32(centre)

    shape = _SHAPES[rng.integers(len(_SHAPES))]
    mask = np.zeros((size, size), np.uint8)
    if shape == "disc":
        cv2.circle(mask, (int(centre), int(centre)), radius, 255, -1, cv2.LINE_AA)
    else:
        sides = {"square": 4, "triangle": 3}.get(shape) or int(rng.integers(5, 8))
        turns = np.arange(sides) / sides + rng.uniform(0, 1)
        jitter = 1.0 if shape != "polygon" else rng.uniform(0.75, 1.0, sides)
        r = radius * jitter
        points = np.stack(
            [centre + r * np.cos(2 * np.pi * turns), centre + r * np.sin(2 * np.pi * turns)], -1
        )
        cv2.fillPoly(mask, [np.rint(points * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
    alpha = mask.astype(np.float32) / 255.0

    hue = rng.uniform(0, 360)
    bright = _hsv_to_rgb(hue, rng.uniform(0.6, 1.0), rng.uniform(0.75, 1.0))
    if rng.random() < 0.5:
        other = _hsv_to_rgb(
            hue + rng.uniform(-40, 40), rng.uniform(0.3, 1.0), rng.uniform(0.05, 0.35)
        )
    else:
        other = _hsv_to_rgb(
            hue + 180 + rng.uniform(-40, 40), rng.uniform(0.6, 1.0), rng.uniform(0.6, 1.0)
        )
    pattern = _PATTERNS[rng.integers(len(_PATTERNS))]
    period = radius * rng.uniform(0.35, 0.6)
    phi = rng.uniform(0, 2 * np.pi)
    u = xx * math.cos(phi) + yy * math.sin(phi)
    if pattern == "stripes":
        select = (u / period) % 1.0 < 0.5
    elif pattern == "checks":
        v = -xx * math.sin(phi) + yy * math.cos(phi)
        select = (np.floor(u / period) + np.floor(v / period)) % 2 == 0
    else:
        spokes = 2 * int(rng.integers(2, 5))
        select = np.floor((np.arctan2(yy, xx) + phi) / (2 * np.pi) * spokes) % 2 == 0
    rgb = np.where(select[..., None], bright, other).astype(np.float32)

    # An off-centre dot breaks the pattern's symmetry: rotation direction becomes visible.
    dot_angle = rng.uniform(0, 2 * np.pi)
    dot_r = radius * 0.45
    dot = (xx - dot_r * math.cos(dot_angle)) ** 2 + (yy - dot_r * math.sin(dot_angle)) ** 2
    dot_colour = (255.0, 255.0, 255.0) if rng.random() < 0.5 else (15.0, 15.0, 15.0)
    rgb[dot <= (0.16 * radius) ** 2] = dot_colour
    # A dark rim separates the object from the clutter.
    rim_width = max(2, int(0.07 * radius))
    inner = cv2.erode(mask, np.ones((2 * rim_width + 1,) * 2, np.uint8))
    rgb[(mask > 0) & (inner == 0)] *= 0.3
    rgb += rng.normal(0.0, 6.0, rgb.shape).astype(np.float32)
    rgb = np.clip(rgb, 0, 255)
    return np.concatenate([rgb * alpha[..., None], alpha[..., None]], -1), radius


def _compose(background, poses, sprites, height, width, num_frames):
    """Draws the objects (later ones on top) over the background, frame by frame.

    Returns float32 frames `(num_frames, height, width, 3)` and the total alpha
    `(num_frames, height, width)`.
    """
    frames = np.empty((num_frames, height, width, 3), np.float32)
    alpha = np.zeros((num_frames, height, width), np.float32)
    for t in range(num_frames):
        frame = background.copy()
        for pose, (sprite, radius) in zip(poses, sprites, strict=True):
            layer = _place(
                sprite, radius, pose.x[t], pose.y[t], pose.radius[t], pose.angle[t], height, width
            )
            a = layer[..., 3:]
            frame = frame * (1.0 - a) + layer[..., :3]
            alpha[t] = 1.0 - (1.0 - alpha[t]) * (1.0 - a[..., 0])
        frames[t] = frame
    return frames, alpha


def _place(sprite, sprite_radius, x, y, radius, angle, height, width):
    """Warps a premultiplied RGBA sprite to centre (x, y), `radius` and `angle` (CCW degrees)."""
    size = sprite.shape[0]
    scale = radius / sprite_radius
    # Shrink with area averaging first (anti-aliased); the warp then only
    # fixes the rounding of the size, rotates and translates.
    small = max(3, int(round(size * scale)))
    resized = cv2.resize(sprite, (small, small), interpolation=cv2.INTER_AREA)
    centre = (small - 1) / 2
    matrix = cv2.getRotationMatrix2D((centre, centre), float(angle), scale * size / small)
    matrix[:, 2] += (x - centre, y - centre)
    return cv2.warpAffine(
        resized,
        matrix,
        (width, height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0, 0),
    )
