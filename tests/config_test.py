"""Recipes carry their scripts' exact settings; the config system refuses bad input."""

import pytest

from nlkeras import cli
from nlkeras import config as config_lib
from tests.testing import recipe_config

STEPS_400K = (150000, 150000, 100000)

# §6 and §7 of docs/original-semantics.md, one row per script:
# script, arch, variant, frames, rate, non-local, frozen BN, dropout, batch, GPUs,
# base LR, step sizes, iterations, jitter, precise BN, top-1, top-5
TABLE = {
    "c2d_8f": ("run_c2d_baseline_400k.sh", "c2d", "resnet_video", 8, 8, False, False, 0.5, 64, 8,
               0.01, STEPS_400K, 400000, (256, 320), True, 71.9, 90.0),
    "c2d_nl_8f": ("run_c2d_nlnet_400k.sh", "c2d", "resnet_video", 8, 8, True, False, 0.5, 64, 8,
                  0.01, STEPS_400K, 400000, (256, 320), True, 74.4, 91.4),
    "c2d_32f": ("run_c2d_baseline_400k_32f.sh", "c2d", "resnet_video_org", 32, 2, False, False,
                0.5, 64, 8, 0.01, STEPS_400K, 400000, (256, 320), True, 72.0, 90.0),
    "c2d_nl_32f": ("run_c2d_nlnet_400k_32f.sh", "c2d", "resnet_video_org", 32, 2, True, False,
                   0.5, 64, 8, 0.01, STEPS_400K, 400000, (256, 320), True, 73.9, 91.0),
    "i3d_8f": ("run_i3d_baseline_400k.sh", "i3d", "resnet_video", 8, 8, False, False, 0.5, 64, 8,
               0.01, STEPS_400K, 400000, (256, 320), True, 73.4, 90.9),
    "i3d_nl_8f": ("run_i3d_nlnet_400k.sh", "i3d", "resnet_video", 8, 8, True, False, 0.5, 64, 8,
                  0.01, STEPS_400K, 400000, (256, 320), True, 74.7, 91.6),
    "i3d_32f": ("run_i3d_baseline_400k_32f.sh", "i3d", "resnet_video_org", 32, 2, False, False,
                0.5, 64, 8, 0.01, STEPS_400K, 400000, (256, 320), True, 73.6, 90.8),
    "i3d_nl_32f": ("run_i3d_nlnet_400k_32f.sh", "i3d", "resnet_video_org", 32, 2, True, False,
                   0.5, 64, 8, 0.01, STEPS_400K, 400000, (256, 320), True, 74.9, 91.6),
    "i3d_8f_300k": ("run_i3d_baseline_300k.sh", "i3d", "resnet_video", 8, 8, False, False, 0.5,
                    64, 8, 0.01, (150000, 100000, 50000), 300000, (256, 320), True, 73.2, 90.8),
    "i3d_8f_300k_4gpu": ("run_i3d_baseline_300k_4gpu.sh", "i3d", "resnet_video", 8, 8, False,
                         False, 0.0, 32, 4, 0.005, (150000, 100000, 50000), 300000, (256, 256),
                         True, 72.0, 90.1),
    "i3d_8f_600k_4gpu": ("run_i3d_baseline_600k_4gpu.sh", "i3d", "resnet_video", 8, 8, False,
                         False, 0.5, 32, 4, 0.005, (300000, 200000, 100000), 600000, (256, 320),
                         True, 73.0, 90.4),
    "i3d_affine_32f": ("run_i3d_baseline_affine_400k.sh", "i3d", "resnet_video", 32, 4, False,
                       True, 0.5, 16, 8, 0.0025, STEPS_400K, 400000, (256, 320), False, 75.5, 92.0),
    "i3d_nl_affine_32f": ("run_i3d_nlnet_affine_400k.sh", "i3d", "resnet_video", 32, 4, True,
                          True, 0.5, 16, 8, 0.0025, STEPS_400K, 400000, (256, 320), False, 76.5,
                          92.6),
    "i3d_affine_128f": ("run_i3d_baseline_affine_400k_128f.sh", "i3d", "resnet_video_org", 128,
                        1, False, True, 0.5, 16, 8, 0.0025, STEPS_400K, 400000, (256, 320), False,
                        75.2, 92.0),
    "i3d_nl_affine_128f": ("run_i3d_nlnet_affine_400k_128f.sh", "i3d", "resnet_video_org", 128,
                           1, True, True, 0.5, 16, 8, 0.0025, STEPS_400K, 400000, (256, 320),
                           False, 76.5, 92.7),
}  # fmt: skip


def test_table_covers_every_original_recipe():
    assert set(TABLE) == set(cli.recipe_names()) - {"demo", "finetune"}


@pytest.mark.parametrize("recipe", sorted(TABLE))
def test_recipe_carries_its_script_settings(recipe):
    (script, arch, variant, frames, rate, non_local, frozen, dropout, batch, gpus, lr, steps,
     iterations, jitter, precise_bn, top1, top5) = TABLE[recipe]  # fmt: skip
    c = config_lib.validate(cli.load_recipe(recipe))
    assert c.paper.script == script
    assert (c.model.arch, c.model.variant, c.model.depth) == (arch, variant, 50)
    assert (c.data.num_frames, c.data.sample_rate, c.data.crop_size) == (frames, rate, 224)
    assert tuple(c.non_local.stages) == ((3, 4) if non_local else ())
    assert c.model.frozen_bn is frozen
    # Frozen-BN recipes: no BN in the non-local blocks, zero-initialised output
    # conv, and res3 attention within groups of 4 frames (§2.7, §2.8).
    assert (c.non_local.use_bn, c.non_local.zero_init_output) == (not frozen, frozen)
    assert c.non_local.res3_group_size == (4 if frozen else 0)
    assert c.model.dropout_rate == dropout
    assert (c.train.batch_size, c.train.tuned_replicas) == (batch, gpus)
    assert c.solver.base_lr == lr and tuple(c.solver.step_sizes) == steps
    assert c.solver.max_iter == iterations == sum(steps)
    assert tuple(c.data.jitter_scales) == jitter
    assert c.train.precise_bn is precise_bn
    assert (c.paper.top1, c.paper.top5) == (top1, top5)
    assert c.paper.model_file and c.train.init_from
    # Shared by every script (§1.4, §6).
    assert c.model.num_classes == 400 and c.model.bn_epsilon == 1.0000001e-5
    assert c.solver.lr_policy == "steps_with_relative_lrs"
    assert tuple(c.solver.lrs) == (1.0, 0.1, 0.01, 0.001)
    assert (c.solver.momentum, c.solver.nesterov, c.solver.scale_momentum) == (0.9, True, True)
    assert (c.solver.weight_decay, c.solver.weight_decay_bn) == (1e-4, 0.0)
    assert (c.test.scale, c.test.num_clips, c.test.protocol) == (256, 10, "three_crop")
    assert (c.checkpoint.period, c.train.eval_period) == (10000, 20000)
    assert (c.data.mean, c.data.std, c.data.use_bgr) == (114.75, 57.375, False)


def test_demo_is_a_small_member_of_the_family():
    c = config_lib.validate(cli.load_recipe("demo"))
    assert c.model.arch == "i3d" and tuple(c.non_local.stages) == (3, 4)
    assert tuple(c.model.stage_blocks) == (1, 2, 2, 1) and c.model.width < 64
    assert c.data.crop_size < 224 and c.train.tuned_replicas == 1


def broken(**changes):
    """`i3d_nl_8f` with `changes` (`section__key=value`) applied."""
    return recipe_config("i3d_nl_8f", {k.replace("__", "."): v for k, v in changes.items()})


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(model__arch="x3d"), r"config\.model\.arch"),
        (dict(model__depth=34), r"config\.model\.depth"),
        (dict(model__variant="org"), r"config\.model\.variant"),
        (dict(non_local__mode="cosine"), r"config\.non_local\.mode"),
        (dict(non_local__stages=(3, 6)), r"config\.non_local\.stages"),
        (dict(model__stage_blocks=(1, 1)), r"config\.model\.stage_blocks"),
        (dict(data__jitter_scales=(200, 320)), r"config\.data\.jitter_scales"),
        (dict(non_local__res3_group_size=3), r"config\.non_local\.res3_group_size"),
        (dict(model__bn_batch_size=24), r"config\.model\.bn_batch_size=24 .*train\.batch_size=64"),
        (dict(model__bn_batch_size=8, distribution__sync_batchnorm=True), r"sync_batchnorm"),
        (dict(train__batch_size=60), r"config\.train\.batch_size=60"),
        (dict(solver__lrs=(1.0,)), r"config\.solver\.lrs"),
        (dict(mixed_precision="float8"), r"config\.mixed_precision"),
        (dict(distribution__strategy="horovod"), r"config\.distribution\.strategy"),
        (dict(data__num_frames=1, model__variant="resnet_video_org"), r"num_frames"),
        # Past sum(step_sizes) the original reads LRS[len(STEP_SIZES)]: it must exist.
        (dict(solver__max_iter=400001, solver__lrs=(1.0, 0.1, 0.01)), r"lrs\[3\]"),
    ],
)
def test_validate_names_the_bad_key(changes, message):
    with pytest.raises(ValueError, match=message):
        config_lib.validate(broken(**changes))


def test_expand_argv_adds_the_recipe_file():
    argv = cli.expand_argv(["prog", "--recipe", "i3d_8f", "--config.model.depth=101"])
    assert argv[1] == f"--config={cli.RECIPES_DIR / 'i3d_8f.py'}"
    assert argv[2:] == ["--recipe", "i3d_8f", "--config.model.depth=101"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["prog"], "--recipe is required"),
        (["prog", "--recipe=i3d_nl_8"], "Unknown recipe 'i3d_nl_8'. Did you mean i3d_nl_8f"),
        (["prog", "--recipe=i3d_8f", "--config.model.dept=101"], "Did you mean model.depth"),
        (["prog", "--recipe=i3d_8f", "--config.nonlocal.stages=(3,)"], "'nonlocal.stages'"),
    ],
)
def test_expand_argv_refuses_unknown_recipes_and_keys(argv, message):
    with pytest.raises(ValueError, match=message):
        cli.expand_argv(argv)


def test_model_kwargs_are_plain_values():
    kwargs = config_lib.model_kwargs(cli.load_recipe("i3d_nl_affine_128f"))
    plain = (str, int, float, bool, tuple, dict)
    assert all(isinstance(v, plain) for v in kwargs.values())
    assert all(isinstance(v, plain) for v in kwargs["non_local"].values())


BASES = [name for name in cli.recipe_names() if name != "finetune"]


@pytest.mark.parametrize("recipe", [*BASES, "finetune:demo", "finetune:i3d_8f_300k_4gpu"])
def test_the_reference_batch_is_the_recipes_batch(recipe):
    """`base_lr` is tuned for the recipe's own batch: only an override scales it."""
    c = cli.load_recipe(recipe)
    assert c.train.reference_batch_size == c.train.batch_size


def test_max_iter_past_the_steps_runs_at_the_next_lr():
    config_lib.validate(broken(solver__max_iter=500000))  # lrs[3], 0.001, as the original
