"""Project-wide rules: model code is backend-agnostic Keras, and ruff passes."""

import ast
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("package", ["nlkeras/layers", "nlkeras/models"])
def test_model_code_imports_no_tensorflow(package):
    files = sorted((ROOT / package).glob("*.py"))
    assert files
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n.split(".")[0] in ("tensorflow", "tf") for n in names), path


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is installed by requirements.txt")
def test_ruff_passes():
    result = subprocess.run(["ruff", "check", str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
