r"""Pictures of what a non-local block attends to (the paper's Figure 3), and the top class's CAM.

    python -m tools.visualize_attention --recipe demo --weights runs/demo/final.weights.h5 \
        data/synthetic/videos/test/move_left/move_left_0000.mp4 --out runs/demo/attention

One clip of the video (`--clip`, default the middle one of the recipe's
`test.num_clips`), cut by the recipe's test views as the whole frame at the
test scale (the paper's fully-convolutional test), goes through the model
once. For each query cell of the block's input grid (`--query T,Y,X`,
repeatable, or by default the `--num_queries` queries whose attention is
most concentrated: see `strongest_queries`), `--out` receives:

- `attention.png`: arrows from the query (red ring) to its `--top_k` most
  attended key cells, across the frames; thicker for more weight;
- `heatmap.png`: the query's weights over every frame's keys;
- `cam.png`: the class activation map of the top class on res5;
- `attention.gif`: the heat maps over every frame of the clip.

`--block` names the non-local block (default: the last one of res4). The
grid shapes are printed, so queries can be chosen in a second run.
"""

from absl import app, flags

from nlkeras import cli
from nlkeras import config as config_lib
from nlkeras.data import builder, video_io, views
from nlkeras.data.class_names import class_names
from nlkeras.models import build_classifier
from nlkeras.visualization import attention, drawing
from nlkeras.weights.files import load_weights

_CONFIG = cli.define_config_flag()
_WEIGHTS = flags.DEFINE_string(
    "weights", None, ".weights.h5, original .pkl, or training checkpoint.", required=True
)
_OUT = flags.DEFINE_string("out", None, "Folder for the pictures.", required=True)
_BLOCK = flags.DEFINE_string("block", None, "Non-local block name (default: the last of res4).")
_CLIP = flags.DEFINE_integer("clip", None, "Test clip index (default: the middle clip).")
_QUERY = flags.DEFINE_multi_string(
    "query", [], "Query cell T,Y,X of the block's input grid (repeatable)."
)
_NUM_QUERIES = flags.DEFINE_integer("num_queries", 3, "Queries to choose without --query.")
_TOP_K = flags.DEFINE_integer("top_k", 8, "Attended key cells drawn per query.")
_HEIGHT = flags.DEFINE_integer("height", 160, "Pixel height of each drawn frame.")


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


def main(argv):
    if len(argv) != 2:
        raise app.UsageError("Give exactly one video file.")
    config = config_lib.validate(_CONFIG.value)

    # Model, block, clip.
    model = build_classifier(**config_lib.model_kwargs(config))
    load_weights(model, _WEIGHTS.value, strict=True)
    probe = attention.AttentionProbe(model, _BLOCK.value)  # a bad name: cli.run's error line
    protocol = {**config_lib.test_protocol_kwargs(config), "protocol": "full_frame", "flip": False}
    test_views = views.TestViews(**protocol)
    clip_index = test_views.num_clips // 2 if _CLIP.value is None else _CLIP.value
    if not 0 <= clip_index < test_views.num_clips:
        raise ValueError(f"--clip {clip_index} is not in [0, {test_views.num_clips}).")
    short_side, fps = builder.stored_frames(config_lib.split_patterns(config))
    try:
        num_video_frames, indices, frames = video_io.read_sampled_frames(
            argv[1],
            lambda n: test_views.frame_indices(n, [clip_index]).numpy(),
            short_side,
            fps,
        )
    except video_io.VideoError as error:
        raise ValueError(f"{argv[1]}: {error}") from None
    frames_for = views.frames_at(frames, indices)
    clip, pixels = attention.clip_view(test_views, frames_for, num_video_frames, clip_index)

    # Attention, queries, pictures.
    result = probe(clip)
    grid = result.weights.shape[:3]
    queries = [parse_query(q, grid) for q in _QUERY.value] or attention.strongest_queries(
        result.weights, _NUM_QUERIES.value, _TOP_K.value
    )
    splits = config_lib.split_patterns(config)
    class_name = class_names(config.model.num_classes, split_patterns=splits)[result.top_class]
    paths = drawing.write_pictures(
        _OUT.value,
        pixels,
        result,
        queries,
        lambda q: attention.top_keys(result.weights, q, _TOP_K.value),
        class_name,
        _HEIGHT.value,
    )
    print(
        f"{probe.block.name}: queries on a {'x'.join(map(str, grid))} grid, keys on "
        f"{'x'.join(map(str, result.weights.shape[3:]))}; clip {clip_index} of "
        f"{test_views.num_clips}, {'x'.join(map(str, clip.shape[:3]))}; top class "
        f"{class_name} ({result.scores[result.top_class]:.2f})"
    )
    for query in queries:
        cells, weights = attention.top_keys(result.weights, query, _TOP_K.value)
        tops = ", ".join(
            f"{tuple(map(int, c))} {w:.3f}" for c, w in zip(cells, weights, strict=True)
        )
        print(f"query {query}: {tops}")
    print("Wrote " + ", ".join(str(p) for p in paths))


if __name__ == "__main__":
    cli.run(main)
