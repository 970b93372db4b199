"""Weights: the original Caffe2 checkpoints in and out, safely."""
