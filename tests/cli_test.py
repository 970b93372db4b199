"""Command-line manners of every entry point: --help, quiet start-up, one-line errors.

The command line itself is the point here, so these run the commands; all
of them at once, in a module fixture. `--help` and an unknown recipe run
where TensorFlow cannot be imported: they answer without it. A bad weights
file is `nlkeras.predict`'s run under `cli.run` in this process: what the
command does after its flags.
"""

import ast
import os
import pathlib
import pickle
import subprocess
import sys

import pytest

from nlkeras import cli
from nlkeras import config as config_lib
from nlkeras.evaluation.run import predict
from tests.testing import recipe_config

ROOT = pathlib.Path(__file__).resolve().parent.parent


def entry_points():
    """Every `python -m` module: those that end in `cli.run(main...)`."""
    modules = []
    for path in sorted(
        [*ROOT.glob("nlkeras/*.py"), *ROOT.glob("tools/*.py"), ROOT / "export/__main__.py"]
    ):
        if "cli.run(main" in path.read_text():
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            modules.append(module.removesuffix(".__main__"))
    return modules


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def without_tensorflow(folder):
    """An environment where importing TensorFlow or Keras fails, naming who tried."""
    for package in ("tensorflow", "keras"):
        (folder / package).mkdir()
        (folder / package / "__init__.py").write_text(
            f"raise ImportError('{package} was imported: --help must answer without it')\n"
        )
    return {"PYTHONPATH": str(folder)}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """`{name: CompletedProcess-like (returncode, stdout, stderr)}` of every command below.

    `--help` and an unknown recipe run where TensorFlow and Keras cannot be imported.
    """
    tmp = tmp_path_factory.mktemp("cli")
    blocked = without_tensorflow(tmp_path_factory.mktemp("blocked"))
    commands = {f"help {m}": [sys.executable, "-m", m, "--help"] for m in entry_points()}
    commands.update(
        {
            "bad recipe": [sys.executable, "-m", "nlkeras.train", "--recipe", "i3d_nl_8"],
            "bad key": [
                sys.executable,
                "-m",
                "nlkeras.train",
                "--recipe",
                "demo",
                "--config.train.batch=3",
            ],
            "bad export format": [
                sys.executable,
                "-m",
                "export",
                "--recipe=demo",
                "--weights=x.weights.h5",
                f"--out={tmp / 'exported'}",
                "--formats=saved_model,coreml",
            ],  # fmt: skip
            "quiet": [sys.executable, "-m", "tools.model_info", "--recipe", "demo"],
            "verbose": [
                sys.executable,
                "-m",
                "tools.model_info",
                "--recipe",
                "demo",
                "--verbosity=0",
            ],
        }
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    light = {name for name in commands if name.startswith("help ") or name == "bad recipe"}
    processes = {
        name: subprocess.Popen(
            command,
            cwd=ROOT,
            env={**env, **(blocked if name in light else {})},
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        for name, command in commands.items()
    }
    results = {}
    for name, process in processes.items():
        stdout, stderr = process.communicate(timeout=600)
        results[name] = (process.returncode, stdout, stderr)
    return results


def test_every_entry_point_is_found():
    assert {"nlkeras.train", "nlkeras.evaluate", "nlkeras.predict", "export"} <= set(entry_points())
    assert {"tools.build_tfrecords", "tools.make_synthetic", "tools.visualize_attention"} <= set(
        entry_points()
    )


@pytest.mark.parametrize("module", entry_points())
def test_help_prints_the_flags_without_a_recipe(runs, module):
    code, stdout, stderr = runs[f"help {module}"]
    assert code == 0, stderr[-2000:]
    path = ROOT / (module.replace(".", "/") + ("/__main__.py" if module == "export" else ".py"))
    summary = ast.get_docstring(ast.parse(path.read_text())).splitlines()[0]
    assert stdout.startswith(summary)  # what the command does, then its flags
    assert "--helpfull" in stdout and "  --" in stdout, stdout[-2000:]
    if "--recipe" in stdout:
        assert "demo" in stdout  # the recipes are listed


@pytest.mark.parametrize(
    "name, message",
    [
        ("bad recipe", "error: Unknown recipe 'i3d_nl_8'. Did you mean i3d_nl_8f"),
        (
            "bad key",
            "error: Unknown config key 'train.batch' (recipe demo). Did you mean train.batch_size",
        ),
        ("bad export format", "Unknown --formats ['coreml']"),
    ],
)
def test_a_users_mistake_is_one_error_line_and_status_2(runs, name, message):
    code, stdout, stderr = runs[name]
    assert code == 2, stderr[-2000:]
    assert "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and message in last, stderr[-2000:]


@pytest.mark.parametrize(
    "file, message",
    [
        ("absent.weights.h5", "absent.weights.h5: no such weights file."),
        ("evil.pkl", "evil.pkl: Refused to load posix.system"),
        ("junk.weights.h5", "junk.weights.h5: not a readable .weights.h5 file"),
    ],
)
def test_a_bad_weights_file_is_one_error_line_and_status_2(
    tmp_path, monkeypatch, capfd, file, message
):
    """`nlkeras.predict`'s run under `cli.run`, in this process (its flags parsed as above)."""
    with open(tmp_path / "evil.pkl", "wb") as f:
        pickle.dump(_Evil(), f, protocol=2)
    (tmp_path / "junk.weights.h5").write_text("not hdf5")
    config = config_lib.validate(recipe_config("demo", {}))
    monkeypatch.setattr(sys, "argv", ["nlkeras.predict"])
    with pytest.raises(SystemExit) as exit:
        cli.run(
            lambda argv: predict(config, str(tmp_path / file), ["video.mp4"]),
            recipe_required=False,
        )
    assert exit.value.code == 2
    stdout, stderr = capfd.readouterr()
    assert "Traceback" not in stderr and "pwned" not in stdout
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and message in last, stderr[-2000:]


def test_tensorflows_start_up_lines_are_filtered_unless_asked_for(runs):
    code, stdout, stderr = runs["quiet"]
    assert code == 0, stderr[-2000:]
    assert "parameters:" in stdout
    for line in ("oneDNN custom operations", "cpu_feature_guard", "absl::InitializeLog"):
        assert line not in stderr, stderr
    code, _, stderr = runs["verbose"]
    assert code == 0 and "oneDNN custom operations" in stderr, stderr[-2000:]
