"""One video through a recipe's model, drawn: `tools.visualize_attention`'s run.

The clip is one test clip cut as the whole frame at the test scale (the
paper's fully-convolutional test), decoded as the recipe's data were stored;
it goes through the model once, and the pictures of `drawing.write_pictures`
are written for each query.
"""

from nlkeras.data import builder, video_io, views
from nlkeras.data.class_names import class_names
from nlkeras.models import build_classifier
from nlkeras.visualization import attention, drawing
from nlkeras.weights.files import load_weights


def parse_query(text, grid):
    """`"T,Y,X"` -> a cell of `grid` `(frames, height, width)`, or a one-line error."""
    try:
        cell = tuple(int(v) for v in text.split(","))
    except ValueError:
        cell = ()
    if len(cell) != 3 or not all(0 <= c < n for c, n in zip(cell, grid, strict=True)):
        raise ValueError(
            f"--query {text!r} is not a cell T,Y,X of the block's {'x'.join(map(str, grid))} grid."
        )
    return cell


def visualize(
    model_kwargs,
    protocol,
    split_patterns,
    weights,
    video,
    out,
    block=None,
    clip_index=None,
    queries=(),
    num_queries=3,
    top_k=8,
    height=160,
):
    """Writes the pictures of `video` into `out` and prints the grids and the top weights.

    Args:
        model_kwargs, protocol, split_patterns: the recipe's model, test
            protocol (`config.test_protocol_kwargs`) and data (its summaries
            give the stored frames and the class names).
        weights: `.weights.h5`, original `.pkl`, or training checkpoint.
        video: the video file.
        out: folder for the pictures.
        block: a non-local block's name; default the last one of res4.
        clip_index: test clip index; default the middle one.
        queries: `"T,Y,X"` cells of the block's input grid; default the
            `num_queries` whose attention is most concentrated.
        top_k: attended key cells drawn per query.
        height: pixel height of each drawn frame.

    Returns the paths written.
    """
    # Model, block, clip.
    model = build_classifier(**model_kwargs)
    load_weights(model, weights, strict=True)
    probe = attention.AttentionProbe(model, block)
    test_views = views.TestViews(**{**protocol, "protocol": "full_frame", "flip": False})
    if clip_index is None:
        clip_index = test_views.num_clips // 2
    if not 0 <= clip_index < test_views.num_clips:
        raise ValueError(f"--clip {clip_index} is not in [0, {test_views.num_clips}).")
    short_side, fps = builder.stored_frames(split_patterns)
    try:
        num_video_frames, indices, frames = video_io.read_sampled_frames(
            video,
            lambda n: test_views.frame_indices(n, [clip_index]).numpy(),
            short_side,
            fps,
        )
    except video_io.VideoError as error:
        raise ValueError(f"{video}: {error}") from None
    frames_for = views.frames_at(frames, indices)
    clip, pixels = attention.clip_view(test_views, frames_for, num_video_frames, clip_index)

    # Attention, queries, pictures.
    result = probe(clip)
    grid = result.weights.shape[:3]
    cells = [parse_query(q, grid) for q in queries] or attention.strongest_queries(
        result.weights, num_queries, top_k
    )
    names = class_names(model_kwargs["num_classes"], split_patterns=split_patterns)
    class_name = names[result.top_class]
    paths = drawing.write_pictures(
        out,
        pixels,
        result,
        cells,
        lambda q: attention.top_keys(result.weights, q, top_k),
        class_name,
        height,
    )
    print(
        f"{probe.block.name}: queries on a {'x'.join(map(str, grid))} grid, keys on "
        f"{'x'.join(map(str, result.weights.shape[3:]))}; clip {clip_index} of "
        f"{test_views.num_clips}, {'x'.join(map(str, clip.shape[:3]))}; top class "
        f"{class_name} ({result.scores[result.top_class]:.2f})"
    )
    for query in cells:
        keys, key_weights = attention.top_keys(result.weights, query, top_k)
        tops = ", ".join(
            f"{tuple(map(int, c))} {w:.3f}" for c, w in zip(keys, key_weights, strict=True)
        )
        print(f"query {query}: {tops}")
    print("Wrote " + ", ".join(str(p) for p in paths))
    return paths
