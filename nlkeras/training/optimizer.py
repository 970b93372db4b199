"""The original's solver as a Keras optimizer."""

import keras
from keras import ops


def is_norm_variable(variable):
    """True for BN / affine parameters: the original's `'_bn' in name` rule."""
    return any(part == "bn" or part.endswith("_bn") for part in variable.path.split("/"))


@keras.saving.register_keras_serializable(package="nlkeras")
class CaffeSGD(keras.optimizers.SGD):
    """SGD with Nesterov momentum whose velocity does not depend on the LR, plus coupled L2.

    Caffe2's `MomentumSGDUpdate` keeps the LR inside the momentum buffer, and
    the original (`SCALE_MOMENTUM`) rescales that buffer by new_lr / old_lr at
    every LR change. That is the same as keeping a velocity of gradients
    alone, `u = momentum * u + g`, and stepping `w -= lr * (g + momentum *
    u)` (Nesterov) or `w -= lr * u`. Keras' `SGD` keeps the LR inside its
    velocity without the rescale, so after an LR step it would keep moving
    with the old LR for a while; this class does not.

    L2 weight decay is added to the gradient before the momentum, as the
    original: `l2` on every parameter but BN ones (`l2_norm`), biases included.

    Args:
        learning_rate: float or `LearningRateSchedule`.
        momentum: float. Defaults to `0.9`.
        nesterov: bool. Defaults to `True`.
        l2: float. Weight decay of non-BN parameters. Defaults to `1e-4`.
        l2_norm: float. Weight decay of BN parameters. Defaults to `0.0`.
        **kwargs: Passed to `keras.optimizers.SGD` (`name`, loss scaling, ...).
    """

    def __init__(
        self, learning_rate=0.01, momentum=0.9, nesterov=True, l2=1e-4, l2_norm=0.0, **kwargs
    ):
        super().__init__(
            learning_rate=learning_rate, momentum=momentum, nesterov=nesterov, **kwargs
        )
        self.l2 = l2
        self.l2_norm = l2_norm

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        # Update steps may see backend variables without paths: decide by index now.
        self._decays = [self.l2_norm if is_norm_variable(v) else self.l2 for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        decay = self._decays[self._get_variable_index(variable)]
        if decay:
            gradient = gradient + ops.cast(decay, variable.dtype) * variable
        if self.momentum == 0:
            self.assign_sub(variable, learning_rate * gradient)
            return
        momentum = ops.cast(self.momentum, variable.dtype)
        velocity = self.momentums[self._get_variable_index(variable)]
        if keras.backend.backend() == "tensorflow":
            # The same rule in one kernel, in place: no velocity- or step-sized temporaries.
            _apply_momentum(variable, velocity, learning_rate, gradient, momentum, self.nesterov)
            return
        self.assign(velocity, momentum * velocity + gradient)
        step = gradient + momentum * velocity if self.nesterov else velocity
        self.assign_sub(variable, learning_rate * step)

    def get_config(self):
        config = super().get_config()
        config.update(l2=self.l2, l2_norm=self.l2_norm)
        return config


def _apply_momentum(variable, velocity, learning_rate, gradient, momentum, nesterov):
    """TensorFlow's `ApplyMomentum`: `u = m u + g; w -= lr (g + m u)` (Nesterov) or `lr u`."""
    import tensorflow as tf

    handle = lambda v: (v.value if isinstance(v, keras.Variable) else v).handle
    tf.raw_ops.ResourceApplyMomentum(
        var=handle(variable),
        accum=handle(velocity),
        lr=learning_rate,
        grad=gradient,
        momentum=momentum,
        use_nesterov=nesterov,
    )
