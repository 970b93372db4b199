"""`nlkeras.distribution`: where a task stands among TF_CONFIG's workers; the batch split."""

import json
import types

import pytest

from nlkeras.distribution import per_replica_batch, worker_position

CLUSTER = {"chief": ["c:1"], "worker": ["w:1", "w:2"]}


@pytest.mark.parametrize(
    "tf_config, expected",
    [
        (None, (0, 1)),
        ({"cluster": {"worker": ["w:1"]}, "task": {"type": "worker", "index": 0}}, (0, 1)),
        ({"cluster": CLUSTER, "task": {"type": "chief", "index": 0}}, (0, 3)),
        ({"cluster": CLUSTER, "task": {"type": "worker", "index": 0}}, (1, 3)),
        ({"cluster": CLUSTER, "task": {"type": "worker", "index": 1}}, (2, 3)),
        ({"cluster": {"worker": ["w:1", "w:2"]}, "task": {"type": "worker", "index": 1}}, (1, 2)),
    ],
)
def test_position(monkeypatch, tf_config, expected):
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", json.dumps(tf_config))
    assert worker_position() == expected


@pytest.mark.parametrize(
    "task", [{"type": "evaluator", "index": 0}, {"type": "worker", "index": 2}]
)
def test_a_task_outside_the_cluster_is_refused(monkeypatch, task):
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": CLUSTER, "task": task}))
    with pytest.raises(ValueError, match="not one of its cluster's chief or workers"):
        worker_position()


def test_the_global_batch_splits_over_the_replicas():
    two = types.SimpleNamespace(num_replicas_in_sync=2)
    assert per_replica_batch(8, two) == 4
    with pytest.raises(ValueError, match="batch_size=7 must divide by 2 replicas"):
        per_replica_batch(7, two)
