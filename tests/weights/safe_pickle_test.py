"""Untrusted pickles: arrays load, code does not run, truncation is a clear error."""

import os
import pickle

import numpy as np
import pytest

from nlkeras.weights import safe_pickle


class RunsCode:
    def __init__(self, call, argument):
        self.call, self.argument = call, argument

    def __reduce__(self):
        return (self.call, (self.argument,))


def test_checkpoint_contents_load(tmp_path):
    weights = {"conv1_w": np.arange(6, dtype=np.float32).reshape(2, 3), "lr": np.float32(0.1)}
    blobs = {"blobs": {**weights, "model_iter": 400000, "names": ["a", "b"]}}
    for protocol in (2, pickle.HIGHEST_PROTOCOL):
        path = tmp_path / f"p{protocol}.pkl"
        path.write_bytes(pickle.dumps(blobs, protocol=protocol))
        loaded = safe_pickle.load(str(path))
        np.testing.assert_array_equal(loaded["blobs"]["conv1_w"], blobs["blobs"]["conv1_w"])
        assert loaded["blobs"]["model_iter"] == 400000 and loaded["blobs"]["names"] == ["a", "b"]


@pytest.mark.parametrize("call", [os.system, eval])
def test_a_pickle_that_would_run_code_is_refused_and_nothing_runs(tmp_path, call):
    marker = tmp_path / "ran"
    argument = f"touch {marker}" if call is os.system else f"open({str(marker)!r}, 'w')"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"blobs": RunsCode(call, argument)}, protocol=2))
    with pytest.raises(
        pickle.UnpicklingError, match=r"Refused to load (posix\.system|__builtin__\.eval)"
    ):
        safe_pickle.load(str(path))
    assert not marker.exists()


def test_truncated_pickle_is_a_clear_error(tmp_path):
    data = pickle.dumps({"w": np.zeros((100, 100), np.float32)}, protocol=2)
    path = tmp_path / "cut.pkl"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(pickle.UnpicklingError, match="truncated or corrupt"):
        safe_pickle.load(str(path))
