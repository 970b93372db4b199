"""A recipe that starts from weights refuses to start without them."""

import pytest

from nlkeras import cli
from nlkeras.training.initialisation import check_init
from tests.testing import train_in_process

RECIPES = [name for name in cli.recipe_names() if name != "finetune"]


@pytest.mark.parametrize("recipe", [*RECIPES, "finetune:demo", "finetune:i3d_nl_8f"])
def test_every_recipe_but_the_demo_starts_from_weights(recipe):
    init_from = cli.load_recipe(recipe).train.init_from
    assert (init_from == "scratch") == (recipe == "demo"), init_from


@pytest.mark.parametrize(
    "recipe, names",
    [
        ("i3d_nl_8f", "r50_pretrain_c2_model_iter450450_clean.pkl"),
        ("c2d_32f", "r50_pretrain_c2_model_iter450450_clean.pkl"),
        ("i3d_nl_affine_32f", "affine_model_400k.pkl: i3d_8f's BN folded"),
        ("i3d_affine_128f", "affine_model_400k.pkl: i3d_32f's BN folded"),
        ("finetune:demo", "the base recipe's trained weights"),
    ],
)
def test_training_without_weights_is_refused_naming_the_file(recipe, names, tmp_path):
    with pytest.raises(ValueError, match="--config.train.init_weights=FILE") as error:
        train_in_process({}, tmp_path / "run", recipe=recipe)
    assert names in str(error.value)
    assert "--config.train.init_from=scratch" in str(error.value)
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_scratch_or_weights_start():
    check_init("scratch", "")
    check_init("imagenet_r50", "r50.pkl")
    with pytest.raises(ValueError, match=r"init_from='imagenet_r50'"):
        check_init("imagenet_r50", "")
