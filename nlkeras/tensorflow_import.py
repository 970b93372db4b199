"""TensorFlow and Keras imported without JAX: their optional JAX hooks are refused.

Two modules that `import tensorflow, keras` loads import JAX at their top
when it is installed, each inside `try: ... except ImportError`:
TFLite's `util` (for a JAX-to-TFLite converter) and Keras' Orbax checkpoint
callback (a JAX compatibility patch). nlkeras uses neither, but where JAX is
installed (the backend test needs it) they cost every TensorFlow process about
120 MiB resident and 0.4 s of start-up (measured: 607 vs 728 MiB after
`import tensorflow, keras`). Only those two modules' imports of `jax` are
refused; `import jax` anywhere else works as always. On the JAX backend Keras
loads JAX first, so nothing is refused there.
"""

import sys

OPTIONAL_IMPORTERS = frozenset(
    {"tensorflow.lite.python.util", "keras.src.callbacks.orbax_checkpoint"}
)


def _importer():
    """The module whose top-level code is importing, skipping importlib's own frames."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith("<frozen importlib"):
        frame = frame.f_back
    if frame is None or frame.f_code.co_name != "<module>":
        return None
    return frame.f_globals.get("__name__")


class RefuseOptionalJax:
    """A `sys.meta_path` finder: `jax` is not found by the optional importers above."""

    def find_spec(self, name, path=None, target=None):
        if name != "jax":
            return None
        importer = _importer()
        if importer in OPTIONAL_IMPORTERS:
            raise ModuleNotFoundError(f"nlkeras: jax is not loaded for {importer}", name=name)
        return None


def install():
    """Puts the finder first on `sys.meta_path`, once."""
    if not any(isinstance(finder, RefuseOptionalJax) for finder in sys.meta_path):
        sys.meta_path.insert(0, RefuseOptionalJax())
