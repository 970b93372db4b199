"""The export stage: SavedModel for TF Serving, TFLite, ONNX and TensorRT (`python -m export`)."""

import nlkeras  # noqa: F401  (an entry point's quiet start-up, nlkeras/__init__.py)
