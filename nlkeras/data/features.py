"""Feature names of the video TFRecords, shared by the writer and the reader.

Records are `tf.train.SequenceExample`s in the MediaSequence layout that TF
Model Garden's and DMVR's video readers read: one JPEG string per frame in the
feature list `image/encoded`, the class in the context.
"""

# Feature list: one JPEG-encoded RGB frame per step.
IMAGE_KEY = "image/encoded"

# Context.
LABEL_KEY = "clip/label/index"  # int64
LABEL_TEXT_KEY = "clip/label/text"  # bytes
VIDEO_ID_KEY = "clip/media_id"  # bytes
FRAME_RATE_KEY = "image/frame_rate"  # float
FRAME_COUNT_KEY = "clip/frame_count"  # int64
HEIGHT_KEY = "image/height"  # int64
WIDTH_KEY = "image/width"  # int64
FORMAT_KEY = "image/format"  # bytes, "jpeg"

# Keys of the parsed dict the pipelines pass between phases.
FRAMES = "frames"  # (N,) JPEG strings, then decoded (T, H, W, 3)
LABEL = "label"
LABEL_TEXT = "label_text"
VIDEO_ID = "video_id"
FPS = "fps"
VIDEO_INDEX = "video_index"
VIEW_INDEX = "view_index"
CLIPS = "clips"  # a batch of normalised views, float32 (B, T, H, W, 3)
