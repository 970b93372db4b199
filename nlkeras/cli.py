"""Command-line plumbing of the entry points: `--recipe NAME` and `--config.*`.

`--recipe NAME[:ARG]` names `recipes/NAME.py`; it becomes the locked
`--config` of `ml_collections.config_flags`, so any key can be overridden
(`--config.model.depth=101`) and a wrong type stops at start-up. An override
of a key the schema lacks is refused here with the closest key names.

`--help` prints the command's flags, with or without a recipe. A user's
mistake (a bad recipe, key or value, a missing or unreadable file, a refused
pickle, a damaged shard) ends in one `error: ...` line and exit status 2;
`--verbosity=1` adds the traceback.

An entry point's module imports only the standard library, absl and this
module at its top, and its `main` imports the library: so `--help` and an
unknown recipe answer without loading TensorFlow (0.15-0.2 s instead of 4).
"""

import difflib
import importlib.util
import os
import pickle
import sys
import traceback
from pathlib import Path

from absl import app, flags
from ml_collections import config_flags

from nlkeras import startup

RECIPES_DIR = Path(__file__).resolve().parent.parent / "recipes"


def recipe_names():
    """Every recipe in `recipes/`, by name."""
    return sorted(p.stem for p in RECIPES_DIR.glob("*.py") if not p.stem.startswith("_"))


def recipe_path(recipe):
    """`recipes/NAME.py[:ARG]` for `NAME[:ARG]`, or a `ValueError` listing the recipes."""
    name, _, arg = recipe.partition(":")
    path = RECIPES_DIR / f"{name}.py"
    if not path.is_file():
        close = difflib.get_close_matches(name, recipe_names(), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"Unknown recipe {name!r}.{hint} Recipes: {', '.join(recipe_names())}")
    return f"{path}:{arg}" if arg else str(path)


def define_config_flag():
    """Defines `--recipe` and the locked `--config`; returns the config holder."""
    flags.DEFINE_string("recipe", None, f"Recipe name, one of: {', '.join(recipe_names())}.")
    return config_flags.DEFINE_config_file(
        "config", None, "Set by --recipe; override keys with --config.KEY=VALUE.", lock_config=True
    )


def recipe_name():
    """`NAME` of `--recipe NAME[:ARG]`: what a run's outputs are named after."""
    return flags.FLAGS.recipe.partition(":")[0]


def default_workdir():
    """Where a run of the recipe writes when no folder is given: `runs/NAME`."""
    return os.path.join("runs", recipe_name())


def _flat_keys(config, prefix=""):
    keys = []
    for key, value in config.items():
        path = f"{prefix}{key}"
        keys.append(path)
        if hasattr(value, "items"):
            keys.extend(_flat_keys(value, f"{path}."))
    return keys


def _overridden_keys(argv):
    for arg in argv[1:]:
        if arg.startswith("--config."):
            yield arg[len("--config.") :].partition("=")[0]


def load_recipe(recipe):
    """The config of recipe `NAME[:ARG]`, unlocked, as `--recipe` loads it."""
    file, _, arg = recipe_path(recipe).partition(":")
    spec = importlib.util.spec_from_file_location(f"recipes.{Path(file).stem}", file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config(arg) if arg else module.get_config()


def expand_argv(argv):
    """Adds `--config=recipes/NAME.py` for `--recipe NAME` and checks override keys.

    Raises `ValueError` for a missing or unknown recipe and for an override
    of a key the recipe's config does not have.
    """
    argv = list(argv)
    recipe = None
    for i, arg in enumerate(argv[1:], start=1):
        if arg.startswith("--recipe="):
            recipe = arg.partition("=")[2]
        elif arg == "--recipe" and i + 1 < len(argv):
            recipe = argv[i + 1]
    if recipe is None:
        raise ValueError(f"--recipe is required. Recipes: {', '.join(recipe_names())}")
    known = _flat_keys(load_recipe(recipe))
    for key in _overridden_keys(argv):
        if key not in known:
            close = difflib.get_close_matches(key, known, n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise ValueError(f"Unknown config key {key!r} (recipe {recipe}).{hint}")
    return [argv[0], f"--config={recipe_path(recipe)}", *argv[1:]]


HELP_FLAGS = ("-h", "--help", "-?", "--helpshort", "--helpfull")

# What a user's input can raise (a damaged shard's error is a ValueError): named
# in one line, not in a traceback.
USER_ERRORS = (ValueError, OSError, pickle.UnpicklingError)


def print_help(full=False):
    """The command's docstring and flags (its own and `--recipe` / `--config`; all with `full`)."""
    print((sys.modules["__main__"].__doc__ or "").strip(), end="\n\n")
    if full:
        print(flags.FLAGS.get_help())
        return
    print(flags.FLAGS.main_module_help())
    if "recipe" in flags.FLAGS:
        print(flags.FLAGS.module_help(__name__))
    print("\n(--helpfull: every flag, absl's included.)")


def run(main, recipe_required=True):
    """`absl.app.run(main)` with `--recipe` expanded; a user's mistake exits with 2.

    `recipe_required=False` is for tools whose `--recipe` is optional
    (their `--config` value is then None).
    """
    argv = sys.argv
    help_asked = any(arg in HELP_FLAGS for arg in argv[1:])
    has_recipe = any(arg == "--recipe" or arg.startswith("--recipe=") for arg in argv[1:])
    if help_asked:
        print_help(full="--helpfull" in argv)
        sys.exit(0)  # absl's own --help exits with status 1: asking for help is not an error
    try:
        if has_recipe or recipe_required:
            argv = expand_argv(argv)
        # Here, once --help and the recipe's name are answered (the recipe loads it anyway).
        import tensorflow as tf

        # TF's logger has a handler of its own and also passes each line on to absl's.
        tf.get_logger().handlers.clear()
        app.run(main, argv=argv)
    except USER_ERRORS as error:
        if startup.verbose_requested(argv):
            traceback.print_exc()
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
