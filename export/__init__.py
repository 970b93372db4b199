"""The export stage: SavedModel for TF Serving, TFLite, ONNX and TensorRT (`python -m export`).

Free of TensorFlow, as `python -m export --help` imports it.
"""

import nlkeras  # noqa: F401  (an entry point's quiet start-up, nlkeras/__init__.py)

FORMATS = ("saved_model", "tflite", "onnx", "tensorrt")
