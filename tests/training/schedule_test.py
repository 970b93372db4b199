"""The LR policies of `lib/utils/lr_policy.py`, step by step."""

import pytest

from nlkeras.training.schedule import StepSchedule, scaled_base_lr


def lr(schedule, step):
    return float(schedule(step))


def test_the_400k_recipe():
    """8-GPU 400k: [0, 150k) 0.01, [150k, 300k) 0.001, [300k, 400k) 1e-4; LRS[3] unused."""
    s = StepSchedule(0.01, (150000, 150000, 100000), (1.0, 0.1, 0.01, 0.001))
    assert lr(s, 0) == pytest.approx(0.01) and lr(s, 149999) == pytest.approx(0.01)
    assert lr(s, 150000) == pytest.approx(0.001) and lr(s, 299999) == pytest.approx(0.001)
    assert lr(s, 300000) == pytest.approx(1e-4) and lr(s, 399999) == pytest.approx(1e-4)


def test_other_policies():
    absolute = StepSchedule(99.0, (10, 10), (0.5, 0.25), policy="steps_with_lrs")
    assert [lr(absolute, i) for i in (0, 9, 10)] == pytest.approx([0.5, 0.5, 0.25])
    decay = StepSchedule(0.1, (10, 10, 10), policy="steps_with_decay", gamma=0.5)
    assert [lr(decay, i) for i in (0, 10, 25)] == pytest.approx([0.1, 0.05, 0.025])


def test_warmup_is_linear_to_the_policy_lr():
    """lr = it * (lr(end) - start) / (end - 1) + start for it < end (original formula)."""
    s = StepSchedule(0.1, (100, 100), warmup_steps=11, warmup_start_lr=0.001)
    assert lr(s, 0) == pytest.approx(0.001)
    assert lr(s, 5) == pytest.approx(5 * (0.1 - 0.001) / 10 + 0.001)
    assert lr(s, 10) == pytest.approx(0.1) and lr(s, 11) == pytest.approx(0.1)


def test_bad_policy_and_short_lrs():
    with pytest.raises(ValueError, match="policy"):
        StepSchedule(0.1, (10,), policy="cosine")
    with pytest.raises(ValueError, match="one value per step"):
        StepSchedule(0.1, (10, 10), lrs=(1.0,))


def test_past_the_last_step_the_next_lr_as_the_original():
    """get_step_index over STEPS + [MAX_ITER]: from sum(step_sizes) on, step len(step_sizes)'s."""
    s = StepSchedule(0.01, (10, 10), (1.0, 0.1, 0.01))
    assert [lr(s, i) for i in (9, 10, 19, 20, 35)] == pytest.approx(
        [0.01, 0.001, 0.001, 1e-4, 1e-4]
    )
    decay = StepSchedule(0.1, (10,), policy="steps_with_decay", gamma=0.5)
    assert [lr(decay, i) for i in (9, 10)] == pytest.approx([0.1, 0.05])
    exact = StepSchedule(0.01, (10,), (1.0,))  # no value past the steps: config.validate refuses
    assert lr(exact, 10) == pytest.approx(0.01)


def test_the_base_lr_scales_with_the_batch():
    assert scaled_base_lr(0.01, 64, 64) == 0.01
    assert scaled_base_lr(0.01, 16, 64) == pytest.approx(0.0025)
