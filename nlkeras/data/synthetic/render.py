"""The synthetic videos' renderer: class sets, motions, textures, one video at a time.

Every random choice of a video is drawn from the generator it is given, in the
same order for both classes of a time-reversed pair; the odd class only
reverses the finished frames (see `nlkeras.data.synthetic`).
"""

import math
from typing import NamedTuple

import cv2
import numpy as np

from nlkeras.data.synthetic.motions import MOTIONS

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
    motion = MOTIONS[names[class_index - class_index % 2]]
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


def class_names(classes):
    """The class names of set `classes` by class id, or a `ValueError` naming the sets."""
    if classes not in CLASS_SETS:
        raise ValueError(f"Unknown class set {classes!r}; choose from {sorted(CLASS_SETS)}.")
    return CLASS_SETS[classes]


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
