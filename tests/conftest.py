"""Test options: `--run_large` enables the full-size model tests."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest  # noqa: E402


def pytest_addoption(parser):
    parser.addoption("--run_large", action="store_true", help="Run the tests marked `large` too.")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run_large"):
        return
    skip = pytest.mark.skip(reason="large: run with --run_large")
    for item in items:
        if "large" in item.keywords:
            item.add_marker(skip)
