r"""Parameters, multiply-accumulates and stage shapes of a recipe's model.

Prints the recipe's model the way the paper's Table 1 shows it: every
stage's output (frames x height x width, channels) for the training clip and
the two test inputs (256x256 crops, whole 256x340 frames), then parameter
counts and multiply-accumulates (convolutions, non-local matrix products and
the classifier; BN, ReLU and pooling are not counted).

    python -m tools.model_info --recipe i3d_nl_affine_128f --config.model.depth=101
"""

from absl import flags

from nlkeras import cli

_CONFIG = cli.define_config_flag()
_TEST_SIZES = flags.DEFINE_multi_string(
    "test_size",
    [],
    "Test inputs as HEIGHTxWIDTH (repeatable). Default: the recipe's test scale as "
    "square crops and as whole 4:3 frames (256x256 and 256x340).",
)


def main(argv):
    del argv
    from nlkeras import config as config_lib
    from nlkeras.models.info import print_model_info

    config = config_lib.validate(_CONFIG.value)
    print_model_info(
        config_lib.model_kwargs(config),
        config.data.sample_rate,
        config.test.scale,
        _TEST_SIZES.value,
    )


if __name__ == "__main__":
    cli.run(main)
