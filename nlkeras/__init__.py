"""nlkeras: Non-local Neural Networks for video classification in Keras 3."""

__version__ = "0.1.0"
