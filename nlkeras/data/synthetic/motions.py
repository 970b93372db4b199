"""The synthetic classes' motions: per-frame trajectories of each video's objects."""

import math
from typing import NamedTuple

import numpy as np


class Pose(NamedTuple):
    """One object's trajectory: per-frame centre (x, y), radius and angle (degrees, CCW)."""

    x: np.ndarray
    y: np.ndarray
    radius: np.ndarray
    angle: np.ndarray


# Motions: each renders the even class of a pair ("forward" time) and returns
# one `Pose` per object. Sizes are relative to the shorter side, distances to
# the frame, so the look is the same at any resolution.


def _linear(start, end, num_frames):
    return np.linspace(start, end, num_frames, dtype=np.float64)


def _crossing(rng, length, breadth, num_frames):
    """One object crossing 40-65% of `length` towards 0, drifting slightly along `breadth`.

    Returns `(along, across, radius, angle)` per frame; `_move_left` and
    `_move_up` are this motion along the width and along the height.
    """
    radius = rng.uniform(0.12, 0.2) * min(length, breadth)
    distance = min(rng.uniform(0.4, 0.65) * length, length - 2 * radius - 4)
    start = rng.uniform(radius + 2 + distance, length - radius - 2)
    drift = rng.uniform(-0.15, 0.15) * distance
    low, high = radius + 2 + max(0.0, -drift), breadth - radius - 2 - max(0.0, drift)
    across_start = rng.uniform(low, max(low, high))
    angle = np.full(num_frames, rng.uniform(0, 360))
    along = _linear(start, start - distance, num_frames)
    across = _linear(across_start, across_start + drift, num_frames)
    return along, across, np.full(num_frames, radius), angle


def _move_left(rng, height, width, num_frames):
    """One object crossing 40-65% of the width leftwards, with a slight vertical drift."""
    x, y, radius, angle = _crossing(rng, width, height, num_frames)
    return [Pose(x, y, radius, angle)]


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
    return [Pose(x_end + dx * shrink, y_end + dy * shrink, radius, angle)]


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
        Pose(
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
        Pose(
            mx - sign * ux * gap / 2,
            my - sign * uy * gap / 2,
            np.full(num_frames, r),
            np.full(num_frames, a),
        )
        for sign, r, a in zip((1.0, -1.0), radii, angles, strict=True)
    ]


def _move_up(rng, height, width, num_frames):
    """One object crossing 40-65% of the height upwards, with a slight horizontal drift."""
    y, x, radius, angle = _crossing(rng, height, width, num_frames)
    return [Pose(x, y, radius, angle)]


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
        Pose(
            cx + orbit * np.cos(theta),
            cy + orbit * np.sin(theta),
            np.full(num_frames, radius),
            angle,
        )
    ]


# The motion of each pair's forward class, by its name.
MOTIONS = {
    "move_left": _move_left,
    "approach": _approach,
    "rotate_clockwise": _rotate_clockwise,
    "meet": _meet,
    "move_up": _move_up,
    "orbit_clockwise": _orbit_clockwise,
}
