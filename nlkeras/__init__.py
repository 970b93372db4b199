"""nlkeras: Non-local Neural Networks for video classification in Keras 3."""

import sys

__version__ = "0.2.0"

from nlkeras import tensorflow_import  # noqa: E402

tensorflow_import.install()

# `python -m nlkeras.X` (and `tools.X`, `export`, whose packages import this one):
# while Python locates the module, sys.argv[0] is "-m" (see `python --help`). Only
# then, before TensorFlow loads, are its start-up lines filtered (nlkeras/startup.py).
if sys.argv[:1] == ["-m"]:
    from nlkeras import startup

    startup.quiet_tensorflow()
