"""Pictures of a `ClipAttention`: arrows to the attended cells, heat maps, the CAM (OpenCV).

Every picture has one column per frame of the block's grid, showing the clip
frame in the middle of the frames that grid frame covers. Grid cells are
drawn as tiling the frame evenly; Caffe2's floor rounding can leave the last
pixel rows of a frame outside every cell.
"""

import pathlib

import cv2
import numpy as np

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_QUERY = (0, 0, 255)  # BGR red
_KEY = (0, 255, 255)  # BGR yellow


def _frames_shown(num_frames, grid_frames):
    """The clip frame drawn for each grid frame: the middle of the frames it covers."""
    return [int((t + 0.5) * num_frames / grid_frames) for t in range(grid_frames)]


def _panels(pixels, grid_frames, height):
    """BGR uint8 panels `height` pixels high, one per grid frame."""
    frames = np.clip(np.rint(pixels), 0, 255).astype(np.uint8)
    width = round(frames.shape[2] * height / frames.shape[1])
    return [
        cv2.resize(
            cv2.cvtColor(frames[f], cv2.COLOR_RGB2BGR), (width, height),
            interpolation=cv2.INTER_CUBIC,
        )
        for f in _frames_shown(len(frames), grid_frames)
    ]  # fmt: skip


def _centre(cell, grid, panel, stride=1):
    """Pixel (x, y) in a panel of the centre of grid cell `(y, x)` (`stride` grid cells each)."""
    (y, x), (rows, cols), (height, width) = cell, grid, panel
    return (
        int((x + 0.5) * stride * width / cols),
        int((y + 0.5) * stride * height / rows),
    )


def _overlay(panel, values, grid, stride, vmax, interpolation=cv2.INTER_NEAREST):
    """A JET heat map of `values` (grid cells of `stride` query cells) blended over `panel`."""
    rows, cols = grid
    cells = np.zeros((rows, cols), np.float32)
    key_rows, key_cols = values.shape
    cells[: key_rows * stride, : key_cols * stride] = np.kron(values, np.ones((stride, stride)))
    level = np.clip(cells / max(vmax, 1e-12), 0, 1)
    level = cv2.resize(level, panel.shape[1::-1], interpolation=interpolation)
    heat = cv2.applyColorMap(np.uint8(255 * level), cv2.COLORMAP_JET)
    return cv2.addWeighted(panel, 0.5, heat, 0.5, 0)


def _label(image, text):
    """White text on a black strip, top left: readable over any frame."""
    (width, height), base = cv2.getTextSize(text, _FONT, 0.4, 1)
    cv2.rectangle(image, (0, 0), (width + 6, height + base + 4), (0, 0, 0), -1)
    cv2.putText(image, text, (3, height + 3), _FONT, 0.4, (255, 255, 255), 1, cv2.LINE_AA)


def _ring(image, point):
    cv2.circle(image, point, 6, (255, 255, 255), 3, cv2.LINE_AA)
    cv2.circle(image, point, 6, _QUERY, 2, cv2.LINE_AA)


def arrows_row(pixels, result, query, keys, key_weights, height=160):
    """One query: arrows from it to its top keys across the frames, thicker for more weight.

    Keys under 2% of the largest weight are not drawn: an arrow would
    suggest attention that is not there.
    """
    grid = result.weights.shape[1:3]
    panels = _panels(pixels, result.weights.shape[0], height)
    row = np.concatenate(panels, axis=1)
    panel = panels[0].shape[:2]
    t, y, x = query
    start = tuple(map(int, np.add(_centre((y, x), grid, panel), (t * panel[1], 0))))
    top = max(float(key_weights.max()), 1e-12)
    drawn = 0
    for (kt, ky, kx), weight in zip(keys, key_weights, strict=True):
        share = float(weight) / top
        if share < 0.02:
            continue
        end = np.add(_centre((ky, kx), grid, panel, result.key_stride), (kt * panel[1], 0))
        end = tuple(map(int, end))
        cv2.arrowedLine(row, start, end, _KEY, 1 + int(2 * share), cv2.LINE_AA, tipLength=0.05)
        cv2.circle(row, end, 2 + int(3 * share), _KEY, -1, cv2.LINE_AA)
        drawn += 1
    _ring(row, start)
    _label(row, f"query {t},{y},{x}: {drawn} of its top {len(keys)} keys (2%+ of the largest)")
    return row


def heatmap_row(pixels, result, query, height=160):
    """One query: its weights over each frame's keys, one colour scale for the whole row."""
    grid = result.weights.shape[1:3]
    weights = result.weights[tuple(query)]
    panels = _panels(pixels, weights.shape[0], height)
    vmax = float(weights.max())
    panels = [
        _overlay(p, w, grid, result.key_stride, vmax) for p, w in zip(panels, weights, strict=True)
    ]
    t, y, x = query
    _ring(panels[t], _centre((y, x), grid, panels[t].shape[:2]))
    row = np.concatenate(panels, axis=1)
    _label(row, f"query {t},{y},{x}: max weight {vmax:.3g}")
    return row


def cam_row(pixels, result, class_name, height=160):
    """The top class's activation map on res5, one colour scale from its minimum to maximum.

    Interpolated bilinearly, as CAMs usually are: res5 cells are 32 pixels wide.
    """
    cam = result.cam - result.cam.min()
    panels = _panels(pixels, cam.shape[0], height)
    vmax = float(cam.max())
    panels = [
        _overlay(p, c, c.shape, 1, vmax, cv2.INTER_LINEAR) for p, c in zip(panels, cam, strict=True)
    ]
    row = np.concatenate(panels, axis=1)
    score = result.scores[result.top_class]
    _label(row, f"CAM of {class_name} (score {score:.2f})")
    return row


def gif_frames(pixels, result, queries, height=160):
    """Frames of an animation of the clip, one row per query: its heat map on every frame."""
    grid = result.weights.shape[1:3]
    num_frames, grid_frames = len(pixels), result.weights.shape[0]
    frames = []
    for f in range(num_frames):
        t_shown = f * grid_frames // num_frames
        rows = []
        for query in queries:
            weights = result.weights[tuple(query)]
            (panel,) = _panels(pixels[f : f + 1], 1, height)
            panel = _overlay(panel, weights[t_shown], grid, result.key_stride, float(weights.max()))
            t, y, x = query
            if t == t_shown:
                _ring(panel, _centre((y, x), grid, panel.shape[:2]))
            _label(panel, f"query {t},{y},{x} | frame {f}")
            rows.append(panel)
        frames.append(np.concatenate(rows, axis=0))
    return frames


def write_pictures(out_dir, pixels, result, queries, keys_of, class_name, height=160):
    """Writes `attention.png`, `heatmap.png`, `cam.png` and `attention.gif` into `out_dir`.

    Args:
        out_dir: folder, created if needed.
        pixels: float32 RGB `(T, H, W, 3)`, the clip before normalisation.
        result: `ClipAttention` of that clip.
        queries: list of `(t, y, x)` query cells.
        keys_of: `query -> (cells (k, 3), weights (k,))`, the keys to draw.
        class_name: str, the top class's name for the CAM's label.
        height: int, pixel height of each drawn frame.

    Returns the paths written.
    """
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pictures = {
        "attention.png": [arrows_row(pixels, result, q, *keys_of(q), height) for q in queries],
        "heatmap.png": [heatmap_row(pixels, result, q, height) for q in queries],
        "cam.png": [cam_row(pixels, result, class_name, height)],
    }
    paths = []
    for name, rows in pictures.items():
        width = max(r.shape[1] for r in rows)
        rows = [np.pad(r, ((0, 2), (0, width - r.shape[1]), (0, 0))) for r in rows]
        path = out / name
        if not cv2.imwrite(str(path), np.concatenate(rows)[:-2], [cv2.IMWRITE_PNG_COMPRESSION, 9]):
            raise OSError(f"OpenCV could not write {path}")
        paths.append(path)
    animation = cv2.Animation()
    animation.frames = gif_frames(pixels, result, queries, height)
    animation.durations = [250] * len(animation.frames)
    path = out / "attention.gif"
    if not cv2.imwriteanimation(str(path), animation):
        raise OSError(f"OpenCV could not write {path}")
    return [*paths, path]
