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
grid shapes are printed, so queries can be chosen in a second run. The run
is `nlkeras.visualization.run.visualize`.
"""

from absl import app, flags

from nlkeras import cli

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


def main(argv):
    if len(argv) != 2:
        raise app.UsageError("Give exactly one video file.")
    from nlkeras import config as config_lib
    from nlkeras.visualization.run import visualize

    config = config_lib.validate(_CONFIG.value)
    visualize(
        config_lib.model_kwargs(config),
        config_lib.test_protocol_kwargs(config),
        config_lib.split_patterns(config),
        _WEIGHTS.value,
        argv[1],
        _OUT.value,
        block=_BLOCK.value,
        clip_index=_CLIP.value,
        queries=_QUERY.value,
        num_queries=_NUM_QUERIES.value,
        top_k=_TOP_K.value,
        height=_HEIGHT.value,
    )


if __name__ == "__main__":
    cli.run(main)
