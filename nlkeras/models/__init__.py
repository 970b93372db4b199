"""The model zoo: inflated ResNet backbones, heads and their one builder."""

from nlkeras.models.builder import build_classifier
from nlkeras.models.resnet3d_backbone import ResNet3DBackbone
from nlkeras.models.video_classifier import VideoClassifier

__all__ = ["ResNet3DBackbone", "VideoClassifier", "build_classifier"]
