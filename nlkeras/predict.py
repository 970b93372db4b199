r"""Classifies video files: `python -m nlkeras.predict --recipe NAME --weights W PATH...`.

PATH: video files, folders of videos (walked), or list files (`.txt`, one
video per line). Each video goes through the recipe's test protocol
(`test.protocol`: 10 clips x 3 crops, or full frames), decoded as
`tools.build_tfrecords` stores frames (short side and frame rate of the
recipe's data summary, else 256 and native), reading only the frames the
protocol samples. Prints each video's top classes; `--out` writes them as
JSON lines, `--features` the pool5 embeddings (`.npz`, averaged over the
views; `--per_view` keeps each view's). A video that cannot be read is
reported and skipped; the exit status is 1 when none could be read.

Class names: `--class_names`, else the recipe's data summaries, else
Kinetics-400's (the original's `classids.json`) for a 400-class model.
The run is `nlkeras.evaluation.run.predict`; this module is its command line.

    python -m nlkeras.predict --recipe i3d_nl_8f \
        --weights i3d_nonlocal_8x8_IN_pretrain_400k.pkl my_videos/ --out top5.jsonl
"""

import sys

from absl import flags

from nlkeras import cli

_CONFIG = cli.define_config_flag()
_WEIGHTS = flags.DEFINE_string(
    "weights", None, ".weights.h5, original .pkl, or training checkpoint.", required=True
)
_OUT = flags.DEFINE_string("out", None, "Write each video's top classes here as JSON lines.")
_FEATURES = flags.DEFINE_string("features", None, "Write the pool5 features here (.npz).")
_PER_VIEW = flags.DEFINE_bool("per_view", False, "--features: every view's, not their mean.")
_TOP_K = flags.DEFINE_integer("top_k", 5, "Classes shown per video.", lower_bound=1)
_CLASS_NAMES = flags.DEFINE_string("class_names", None, "classids.json or a text file.")
_SHORT_SIDE = flags.DEFINE_integer(
    "short_side", None, "Decode at this short side (default: the data summary's, else 256)."
)
_FPS = flags.DEFINE_float("fps", None, "Resample to this rate (default: the data summary's).")


def main(argv):
    from nlkeras import config as config_lib
    from nlkeras.data import sources
    from nlkeras.evaluation.run import predict

    paths = sources.video_files(argv[1:])
    if not paths:
        raise SystemExit("error: no video given (PATH: video files, folders or list files).")
    unreadable = predict(
        config_lib.validate(_CONFIG.value), _WEIGHTS.value, paths, top_k=_TOP_K.value,
        results=_OUT.value, features=_FEATURES.value, per_view=_PER_VIEW.value,
        class_names_file=_CLASS_NAMES.value, short_side=_SHORT_SIDE.value, fps=_FPS.value,
    )  # fmt: skip
    read = len(paths) - len(unreadable)
    print(f"{read} of {len(paths)} videos predicted", end="")
    print(f"; {len(unreadable)} unreadable (listed above)." if unreadable else ".")
    for output in filter(None, (_OUT.value, _FEATURES.value)):
        print(f"Wrote {output}")
    if not read:
        print("error: no video could be read.", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    cli.run(main)
