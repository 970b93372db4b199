"""Video <-> `tf.train.SequenceExample`, in the layout of `features`."""

import cv2
import tensorflow as tf

from nlkeras.data import features


def encode_jpeg(frame, quality=90):
    """JPEG bytes of one RGB uint8 frame."""
    ok, data = cv2.imencode(
        ".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise ValueError(f"JPEG encoding failed for a frame of shape {frame.shape}")
    return data.tobytes()


def make_sequence_example(jpegs, label, label_text, video_id, fps, height, width):
    """A `SequenceExample` holding one video's JPEG frames and its metadata."""
    example = tf.train.SequenceExample()
    context = example.context.feature
    context[features.LABEL_KEY].int64_list.value.append(int(label))
    context[features.LABEL_TEXT_KEY].bytes_list.value.append(label_text.encode())
    context[features.VIDEO_ID_KEY].bytes_list.value.append(video_id.encode())
    context[features.FRAME_RATE_KEY].float_list.value.append(float(fps))
    context[features.FRAME_COUNT_KEY].int64_list.value.append(len(jpegs))
    context[features.HEIGHT_KEY].int64_list.value.append(int(height))
    context[features.WIDTH_KEY].int64_list.value.append(int(width))
    context[features.FORMAT_KEY].bytes_list.value.append(b"jpeg")
    frames = example.feature_lists.feature_list[features.IMAGE_KEY]
    for jpeg in jpegs:
        frames.feature.add().bytes_list.value.append(jpeg)
    return example


CONTEXT_SPEC = {
    features.LABEL_KEY: tf.io.FixedLenFeature([], tf.int64),
    features.LABEL_TEXT_KEY: tf.io.FixedLenFeature([], tf.string, default_value=""),
    features.VIDEO_ID_KEY: tf.io.FixedLenFeature([], tf.string, default_value=""),
    features.FRAME_RATE_KEY: tf.io.FixedLenFeature([], tf.float32, default_value=0.0),
}
SEQUENCE_SPEC = {features.IMAGE_KEY: tf.io.FixedLenSequenceFeature([], tf.string)}


def parse_sequence_example(serialized):
    """Phase *parse*: `{frames: (N,) JPEG strings, label: int32, ...}`; nothing decoded."""
    context, sequence = tf.io.parse_single_sequence_example(
        serialized, context_features=CONTEXT_SPEC, sequence_features=SEQUENCE_SPEC
    )
    return {
        features.FRAMES: sequence[features.IMAGE_KEY],
        features.LABEL: tf.cast(context[features.LABEL_KEY], tf.int32),
        features.LABEL_TEXT: context[features.LABEL_TEXT_KEY],
        features.VIDEO_ID: context[features.VIDEO_ID_KEY],
        features.FPS: context[features.FRAME_RATE_KEY],
    }
