"""The export stage: SavedModel for TF Serving, TFLite, ONNX and TensorRT (`python -m export`)."""
