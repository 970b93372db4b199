r"""Benchmarks that print numbers: `python -m tools.benchmark data|model|serve --recipe NAME`.

`model [--batch B] [--size HxW] [--precision P]` times the recipe's model on
random clips: the forward pass (probabilities head, one `tf.function`) and
the trainer's own training step (`CaffeSGD`), each the median of `--rounds`
runs after `--warmup`, with clips/s, the peak resident memory of each phase,
the multiply-accumulates (a step counts 3x the forward pass) and the
achieved rate as a fraction of this machine's fp32 and bf16 matrix-multiply
peak, measured in the same run.

`serve --weights W` writes the recipe's SavedModel (in a child process) and
times one `video` and one `encoded_frames` request of a 10 s, 340x256, 30 fps
video through it: latency and the request's peak resident memory.

`data` measures clips per second of a recipe's input pipelines on this
machine:

- `sampled JPEG decode`: parse the record, sample the training clip's frame
  indices and decode only those JPEGs, in parallel, nothing else: the limit
  of this design, since every pipeline must at least do this;
- `train`: the training pipeline (decode, scale jitter, random crop, flip,
  normalise, shuffle, batch);
- `test views`: the evaluation pipeline of the recipe's protocol.

The pipelines are timed in alternating rounds and the median of each is
reported. Prints a table and the same numbers as JSON (`--json` also writes
them). The runs are `nlkeras.benchmarks.run`.
"""

from absl import flags

from nlkeras import cli

_CONFIG = cli.define_config_flag()
_DATA = flags.DEFINE_string("data", None, "TFRecord pattern(s) to read (comma-separated).")
_BATCHES = flags.DEFINE_integer("batches", 20, "Batches per timed run.")
_ROUNDS = flags.DEFINE_integer(
    "rounds", 7, "Timed runs per pipeline (alternating) or phase; the median counts."
)
_WARMUP = flags.DEFINE_integer("warmup", 3, "Batches read or steps run before timing.")
_JSON = flags.DEFINE_string("json", None, "Also write the results to this JSON file.")
_BATCH = flags.DEFINE_integer("batch", 1, "model: clips per batch.")
_SIZE = flags.DEFINE_string("size", None, "model: HEIGHTxWIDTH of the clips (default: the crop).")
_PRECISION = flags.DEFINE_string(
    "precision", None, "model: Keras dtype policy, a config.mixed_precision (default: recipe's)."
)
_WEIGHTS = flags.DEFINE_string("weights", None, "serve: the model's weights.")


def main(argv):
    if len(argv) != 2:
        raise SystemExit("usage: python -m tools.benchmark data|model|serve --recipe NAME ...")
    from nlkeras import benchmarks
    from nlkeras import config as config_lib

    config = config_lib.validate(_CONFIG.value)
    config.recipe = cli.recipe_name()
    benchmarks.run(
        argv[1],
        config,
        data=_DATA.value,
        batches=_BATCHES.value,
        warmup=_WARMUP.value,
        rounds=_ROUNDS.value,
        batch=_BATCH.value,
        size=_SIZE.value,
        precision=_PRECISION.value,
        weights=_WEIGHTS.value,
        json_path=_JSON.value,
    )


if __name__ == "__main__":
    cli.run(main)
