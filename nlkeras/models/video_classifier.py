"""The classification heads over an inflated ResNet backbone."""

import keras

from nlkeras.layers import SeparablePooling3D
from nlkeras.models.folding import fold_normalization

HEADS = ("logits", "probabilities")


@keras.saving.register_keras_serializable(package="nlkeras")
class VideoClassifier(keras.Model):
    """pool5 -> dropout -> `pred`, applied at every position of the feature map.

    `pool5` averages a `pool_size` window with stride 1 (not a global pool):
    at the training input (224 crop) the map collapses to one position and
    `pred` is the original's FC layer. On a larger input (256x256 crops, whole
    256x340 frames) `pred` acts as the fully-convolutional 1x1x1 conv of the
    original's test net. The two heads share every weight:

    - `"logits"` (training): the logits, averaged over positions when there
      are several (equal to the FC on the one position at the train size).
    - `"probabilities"` (testing): a softmax at every position, then the mean
      over positions, as the original's `softmax` test blob.

    `with_head()` switches between them without copying the backbone.

    Args:
        backbone: `ResNet3DBackbone`.
        num_classes: int. Defaults to `400`.
        pool_size: tuple of 3 ints. The pool5 window `(frames, height,
            width)`: the res5 map of the training input, e.g. `(4, 7, 7)`.
        dropout: float. Dropout before `pred`, training only. Defaults to `0.5`.
        head: str. `"logits"` or `"probabilities"`. Defaults to `"logits"`.
        fc_init_std: float. Std of `pred`'s normal initialisation.
            Defaults to `0.01`.
        pred: `keras.layers.Dense` or None. An existing classifier to share
            (`with_head()` passes its own); None creates one.
        **kwargs: Passed to `keras.Model` (`name`, ...).

    Call arguments:
        inputs: Normalised clips, `(batch, frames, height, width, 3)`.

    Returns `(batch, num_classes)` logits or probabilities.
    """

    def __init__(
        self,
        backbone,
        num_classes=400,
        pool_size=(4, 7, 7),
        dropout=0.5,
        head="logits",
        fc_init_std=0.01,
        pred=None,
        **kwargs,
    ):
        if head not in HEADS:
            raise ValueError(f"`head` must be one of {HEADS}. Received: head={head!r}")
        pool_size = tuple(pool_size)
        pred = pred or keras.layers.Dense(
            num_classes,
            kernel_initializer=keras.initializers.RandomNormal(stddev=fc_init_std),
            bias_initializer="zeros",
            name="pred",
        )

        # === Functional Model ===
        inputs = backbone.input
        x = backbone(inputs)
        x = SeparablePooling3D(pool_size, strides=(1, 1, 1), reduction="average", name="pool5")(x)
        x = keras.layers.Dropout(dropout, name="dropout")(x)
        x = pred(x)
        if head == "probabilities":
            x = keras.layers.Softmax(name="position_softmax")(x)
        outputs = keras.layers.GlobalAveragePooling3D(name=f"mean_{head}", dtype="float32")(x)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.backbone = backbone
        self.pred = pred
        self.num_classes = num_classes
        self.pool_size = pool_size
        self.dropout = dropout
        self.head = head
        self.fc_init_std = fc_init_std

    def with_head(self, head):
        """A model with the other head over the very same weights."""
        return VideoClassifier(
            self.backbone,
            num_classes=self.num_classes,
            pool_size=self.pool_size,
            dropout=self.dropout,
            head=head,
            fc_init_std=self.fc_init_std,
            pred=self.pred,
            name=f"{self.name}_{head}",
        )

    def for_inference(self):
        """The probabilities head over `fold_normalization(backbone)`: the model that is run.

        Evaluation, prediction and export run this twin: the same function
        with each normalisation folded into its convolution (10-25% faster
        in float32 on an AMX Xeon). Its weights are a copy, taken now. A
        folded model is its own inference model.
        """
        if self.backbone.folded_normalization and self.head == "probabilities":
            return self
        twin = VideoClassifier(
            fold_normalization(self.backbone),
            num_classes=self.num_classes,
            pool_size=self.pool_size,
            dropout=self.dropout,
            head="probabilities",
            fc_init_std=self.fc_init_std,
            name=f"{self.name}_inference",
        )
        twin.pred.set_weights(self.pred.get_weights())
        return twin

    def with_classes(self, num_classes):
        """A classifier for `num_classes` over the very same backbone (a fresh `pred`)."""
        return VideoClassifier(
            self.backbone,
            num_classes=num_classes,
            pool_size=self.pool_size,
            dropout=self.dropout,
            head=self.head,
            fc_init_std=self.fc_init_std,
            name=f"{self.name}_{num_classes}_classes",
        )

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "backbone": keras.layers.serialize(self.backbone),
            "num_classes": self.num_classes,
            "pool_size": self.pool_size,
            "dropout": self.dropout,
            "head": self.head,
            "fc_init_std": self.fc_init_std,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.layers.deserialize(config["backbone"])
        return cls(**config)
