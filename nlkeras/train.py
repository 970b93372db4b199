r"""Trains a recipe: `python -m nlkeras.train --recipe NAME [--config.KEY=VALUE] [--workdir DIR]`.

The run itself is `nlkeras.training.run.train`, which tests and tools call
in process; this module is its command line.

    python -m nlkeras.train --recipe demo
"""

import logging

from absl import flags

from nlkeras import cli

_CONFIG = cli.define_config_flag()
_WORKDIR = flags.DEFINE_string("workdir", None, "Output folder (default: runs/RECIPE).")


def main(argv):
    del argv
    from nlkeras import config as config_lib
    from nlkeras.training.run import train

    logging.getLogger().setLevel(logging.INFO)
    config = config_lib.validate(_CONFIG.value)
    config.recipe = cli.recipe_name()
    summary = train(config, _WORKDIR.value or cli.default_workdir())
    if summary:
        print(
            f"test ({summary['protocol']}, {summary['videos']} videos, "
            f"{summary['videos_missing']} missing): video top-1 {100 * summary['top1']:.1f}%, "
            f"top-5 {100 * summary['top5']:.1f}%"
        )


if __name__ == "__main__":
    cli.run(main)
