"""Evaluation: views regrouped into videos, video-level accuracy."""
