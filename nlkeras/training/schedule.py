"""The original's learning-rate policies, with its optional linear warm-up."""

import logging

import keras
from keras import ops

POLICIES = ("steps_with_relative_lrs", "steps_with_lrs", "steps_with_decay")


def scaled_base_lr(base_lr, batch_size, reference_batch_size):
    """`base_lr`, tuned for `reference_batch_size`, scaled linearly to `batch_size`."""
    if batch_size == reference_batch_size:
        return base_lr
    scaled = base_lr * batch_size / reference_batch_size
    logging.warning(
        "Global batch %d instead of the recipe's %d: base LR scaled linearly, %g -> %g.",
        batch_size, reference_batch_size, base_lr, scaled,
    )  # fmt: skip
    return scaled


@keras.saving.register_keras_serializable(package="nlkeras")
class StepSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """LR constant between step boundaries, as `lib/utils/lr_policy.py`.

    Boundaries are the cumulative sums of `step_sizes` (150k, 150k, 100k ->
    150k, 300k, 400k). In step `i` the LR is `base_lr * lrs[i]`
    (`steps_with_relative_lrs`), `lrs[i]` (`steps_with_lrs`) or `base_lr *
    gamma**i` (`steps_with_decay`). Past the last boundary, as the original's
    `get_step_index` over `STEPS + [MAX_ITER]`, it is step `len(step_sizes)`'s:
    `lrs[3]` (0.001) for the 400k recipes, reached only when `max_iter`
    exceeds the steps (when `lrs` has no such value, the last step's LR goes
    on; `config.validate` refuses such a run, which the original could not
    run). With `warmup_steps`, the LR rises linearly
    from `warmup_start_lr` to the policy's LR at `warmup_steps`, as the
    original: `lr = it * (lr(end) - start) / (end - 1) + start`.

    Args:
        base_lr: float.
        step_sizes: sequence of ints.
        lrs: sequence of floats, one per step, and optionally one for the
            iterations past the last step.
        policy: str, one of `POLICIES`.
        gamma: float. For `steps_with_decay`.
        warmup_steps: int. 0 for no warm-up.
        warmup_start_lr: float.
    """

    def __init__(
        self,
        base_lr,
        step_sizes,
        lrs=(1.0, 0.1, 0.01, 0.001),
        policy="steps_with_relative_lrs",
        gamma=0.1,
        warmup_steps=0,
        warmup_start_lr=0.0,
    ):
        if policy not in POLICIES:
            raise ValueError(f"`policy` must be one of {POLICIES}. Received: policy={policy!r}")
        if policy != "steps_with_decay" and len(lrs) < len(step_sizes):
            raise ValueError(
                f"`lrs` needs one value per step. Received: lrs={lrs}, step_sizes={step_sizes}"
            )
        self.base_lr = base_lr
        self.step_sizes = tuple(step_sizes)
        self.lrs = tuple(lrs)
        self.policy = policy
        self.gamma = gamma
        self.warmup_steps = warmup_steps
        self.warmup_start_lr = warmup_start_lr

    def values(self):
        """The LR of each step, in order, then the one past the last step when there is one."""
        steps = len(self.step_sizes) + 1
        if self.policy == "steps_with_relative_lrs":
            return [self.base_lr * r for r in self.lrs[:steps]]
        if self.policy == "steps_with_lrs":
            return list(self.lrs[:steps])
        return [self.base_lr * self.gamma**i for i in range(steps)]

    def _policy_lr(self, step):
        values = self.values()
        lr = ops.convert_to_tensor(values[0], "float32")
        boundary = 0
        for size, value in zip(self.step_sizes, values[1:], strict=False):
            boundary += size
            lr = ops.where(step >= boundary, ops.convert_to_tensor(value, "float32"), lr)
        return lr

    def __call__(self, step):
        step = ops.cast(step, "float32")
        lr = self._policy_lr(step)
        if not self.warmup_steps:
            return lr
        end = float(self.warmup_steps)
        target = self._policy_lr(ops.convert_to_tensor(end, "float32"))
        warm = step * (target - self.warmup_start_lr) / (end - 1.0) + self.warmup_start_lr
        return ops.where(step < end, warm, lr)

    def get_config(self):
        return dict(
            base_lr=self.base_lr,
            step_sizes=self.step_sizes,
            lrs=self.lrs,
            policy=self.policy,
            gamma=self.gamma,
            warmup_steps=self.warmup_steps,
            warmup_start_lr=self.warmup_start_lr,
        )
