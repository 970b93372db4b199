"""Every recipe's model against the original's architecture facts.

The default run builds one model per builder path (C2D and I3D, with and
without non-local blocks, both stem variants, frozen BN); the slow suite
builds every recipe and the R101s.

The expectations below are written from docs/original-semantics.md (§2.2 temporal
kernels, §2.4 and §2.11 shape walks, §2.6 non-local placement) and from the
reference parameter counts, independently of `nlkeras.models.specs`.
"""

import keras
import numpy as np
import pytest

from nlkeras import cli
from nlkeras import config as config_lib
from nlkeras.layers import Affine, NonLocalBlock
from nlkeras.models import build_classifier

# §2.2: temporal kernel of conv1 and of every block's branch2a.
I3D_R50 = (5, ((3, 3, 3), (3, 1, 3, 1), (3, 1, 3, 1, 3, 1), (1, 3, 1)))
I3D_R101 = (
    5,
    ((3, 3, 3), (3, 1, 3, 1), tuple(3 if i % 2 == 0 else 1 for i in range(23)), (1, 3, 1)),
)
C2D_R50 = (1, ((1,) * 3, (1,) * 4, (1,) * 6, (1,) * 3))
C2D_R101 = (1, ((1,) * 3, (1,) * 4, (1,) * 23, (1,) * 3))
KERNELS = {
    ("i3d", 50): I3D_R50,
    ("i3d", 101): I3D_R101,
    ("c2d", 50): C2D_R50,
    ("c2d", 101): C2D_R101,
}

# §2.6: blocks followed by a non-local block.
NON_LOCAL = {50: ["nonlocal_conv3_1", "nonlocal_conv3_3", "nonlocal_conv4_1", "nonlocal_conv4_3",
                  "nonlocal_conv4_5"],
             101: ["nonlocal_conv3_1", "nonlocal_conv3_3", "nonlocal_conv4_6", "nonlocal_conv4_13",
                   "nonlocal_conv4_20"]}  # fmt: skip

# §2.4 / §2.11: spatial sizes (height, width) of every stage output.
SPATIAL = {
    (224, 224): [(112, 112), (55, 55), (55, 55), (55, 55), (28, 28), (14, 14), (7, 7)],
    (256, 256): [(128, 128), (63, 63), (63, 63), (63, 63), (32, 32), (16, 16), (8, 8)],
    (256, 340): [(128, 170), (63, 84), (63, 84), (63, 84), (32, 42), (16, 21), (8, 11)],
}
STAGES = ["conv1", "pool1", "res2", "pool2", "res3", "res4", "res5"]
CHANNELS = [64, 64, 256, 256, 512, 1024, 2048]

# Reference trainable parameter counts, 400 classes.
C2D_R50_PARAMS = 24_327_632
I3D_R50_PARAMS = 28_043_472
I3D_NL_R50_PARAMS = 35_401_936


def frames_per_stage(variant, length):
    """§2.3: resnet_video keeps L to res2 then L/2; resnet_video_org L/2, L/4, L/4, L/8."""
    if variant == "resnet_video":
        return [length, length, length] + [length // 2] * 4
    return [length // 2, length // 4, length // 4] + [length // 8] * 4


def trunk_params(kernels, width=64):
    """Trainable parameters of the bottleneck ResNet trunk, and of its BNs."""
    conv1_t, stages = kernels
    convs, norms = 3 * width * conv1_t * 7 * 7, 2 * width
    dim_in = width
    for stage, block_kernels in enumerate(stages):
        inner = width * 2**stage
        out = 4 * inner
        for index, kt in enumerate(block_kernels):
            convs += dim_in * inner * kt + inner * inner * 9 + inner * out
            norms += 2 * (2 * inner + out)
            if index == 0:
                convs += dim_in * out
                norms += 2 * out
            dim_in = out
    return convs, norms


def non_local_params(channels, use_bn=True):
    """theta, phi, g (C -> C/2, with bias), out (C/2 -> C, with bias), BN gamma/beta."""
    inner = channels // 2
    return 3 * (channels * inner + inner) + inner * channels + channels + 2 * channels * use_bn


def expected_trainable(arch, depth, non_local, frozen_bn, num_classes=400):
    convs, norms = trunk_params(KERNELS[(arch, depth)])
    total = convs + (0 if frozen_bn else norms) + 2048 * num_classes + num_classes
    if non_local:
        total += 2 * non_local_params(512, not frozen_bn) + 3 * non_local_params(
            1024, not frozen_bn
        )
    return total


def test_parameter_derivation_reproduces_reference_counts():
    """The hand derivation used below agrees with the published figures."""
    assert expected_trainable("c2d", 50, False, False) == C2D_R50_PARAMS
    assert expected_trainable("i3d", 50, False, False) == I3D_R50_PARAMS
    assert expected_trainable("i3d", 50, True, False) == I3D_NL_R50_PARAMS


def trainable_count(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def stage_shapes(model, clip_shape):
    backbone = model.backbone
    probe = keras.Model(backbone.input, [backbone.get_layer(backbone.stage_layers[s]).output
                                         for s in STAGES])  # fmt: skip
    return [tuple(s.shape[1:]) for s in probe.compute_output_spec(keras.KerasTensor(clip_shape))]


def check_model(config, model):
    m = config.model
    arch, depth, frozen = m.arch, m.depth, m.frozen_bn
    non_local = bool(config.non_local.stages)
    assert trainable_count(model) == expected_trainable(arch, depth, non_local, frozen)

    backbone = model.backbone
    conv1_t, stages = KERNELS[(arch, depth)]
    assert backbone.get_layer("conv1").kernel.shape == (conv1_t, 7, 7, 3, 64)
    for stage, kernels in enumerate(stages, start=2):
        got = [
            backbone.get_layer(f"res{stage}_{i}_branch2a").kernel.shape[0]
            for i in range(len(kernels))
        ]
        assert tuple(got) == kernels, f"res{stage} temporal kernels"

    blocks = [layer for layer in backbone.layers if isinstance(layer, NonLocalBlock)]
    assert [b.name for b in blocks] == (NON_LOCAL[depth] if non_local else [])
    for block in blocks:
        assert block.use_bn is not frozen and block.zero_init_output is frozen
        # §2.8: grouped (4 frames) only in res3 of the frozen-BN models.
        assert block.group_size == (
            4 if frozen and block.name.startswith("nonlocal_conv3") else None
        )

    norms = [
        layer
        for layer in backbone.layers
        if isinstance(layer, Affine | keras.layers.BatchNormalization)
    ]
    assert all(isinstance(n, Affine if frozen else keras.layers.BatchNormalization) for n in norms)
    for norm in norms:
        if not frozen:
            assert norm.epsilon == pytest.approx(1.0000001e-5) and norm.momentum == pytest.approx(
                0.9
            )

    length = config.data.num_frames
    frames = frames_per_stage(m.variant, length)
    for size, spatial in SPATIAL.items():
        crop = config.data.crop_size
        if size == (224, 224):
            size = (crop, crop)
        got = stage_shapes(model, (1, length, *size, 3))
        want = [(t, h, w, c) for t, (h, w), c in zip(frames, spatial, CHANNELS, strict=True)]
        assert got == want, f"stage shapes at {size}"
    # pool5 is [T/2 or T/8, 7, 7] with stride 1: one position at 224, 2x2 at 256.
    assert model.pool_size == (frames[-1], 7, 7)
    pool5 = model.get_layer("pool5")
    assert pool5.compute_output_shape((1, frames[-1], 8, 8, 2048))[1:4] == (1, 2, 2)


ORIGINAL_RECIPES = [name for name in cli.recipe_names() if name not in ("demo", "finetune")]


def test_there_are_fifteen_recipes_and_a_demo():
    assert len(ORIGINAL_RECIPES) == 15 and "demo" in cli.recipe_names()


# One full-size build per builder path in the default run; the rest with -m slow.
DEFAULT_RUN = ("c2d_8f", "c2d_nl_32f", "i3d_8f", "i3d_nl_8f", "i3d_nl_affine_128f")


@pytest.mark.parametrize(
    "recipe",
    [r if r in DEFAULT_RUN else pytest.param(r, marks=pytest.mark.slow) for r in ORIGINAL_RECIPES],
)
def test_recipe_model_matches_original(recipe):
    config = config_lib.validate(cli.load_recipe(recipe))
    model = build_classifier(**config_lib.model_kwargs(config))
    check_model(config, model)
    keras.backend.clear_session()


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["c2d_8f", "i3d_nl_8f", "i3d_nl_affine_128f"])
def test_resnet101_by_override(recipe):
    """README: R101 = the same recipe with `MODEL.DEPTH 101`."""
    config = cli.load_recipe(recipe)
    config.model.depth = 101
    config = config_lib.validate(config)
    model = build_classifier(**config_lib.model_kwargs(config))
    check_model(config, model)
    keras.backend.clear_session()


def test_full_i3d_nl_r50_forward_pass():
    """The whole I3D-NL R50 runs on one 8x224x224 clip and gives a distribution."""
    config = config_lib.validate(cli.load_recipe("i3d_nl_8f"))
    model = build_classifier(**config_lib.model_kwargs(config))
    clip = np.random.default_rng(0).normal(size=(1, 8, 224, 224, 3)).astype("float32")
    logits = keras.ops.convert_to_numpy(model(clip, training=False))
    assert logits.shape == (1, 400) and np.isfinite(logits).all()
    probabilities = keras.ops.convert_to_numpy(model.with_head("probabilities")(clip))
    assert probabilities.shape == (1, 400)
    np.testing.assert_allclose(probabilities.sum(), 1.0, rtol=1e-5)
    # One position at 224, so the test head is the softmax of the training logits.
    np.testing.assert_allclose(
        probabilities, keras.ops.convert_to_numpy(keras.ops.softmax(logits)), atol=1e-6
    )
    keras.backend.clear_session()
