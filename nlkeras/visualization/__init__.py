"""Pictures of what the non-local blocks attend to, and class activation maps."""
