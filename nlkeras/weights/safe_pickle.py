"""Loading the original's Python-2 pickles without letting them run code.

A pickle can name any importable callable and have it called on load
(`os.system`, `eval`, ...). The original's checkpoints hold only dicts,
lists, strings, numbers and numpy arrays, so the unpickler admits exactly the
globals those need and refuses every other one by name.
"""

import pickle

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),  # bytes in protocol-2 pickles written by Python 3
}


class RefusedGlobal(pickle.UnpicklingError):
    """The pickle names a global that a weights file does not need."""


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise RefusedGlobal(
            f"Refused to load {module}.{name}: a weights file only needs numpy arrays, "
            "numbers and strings, and this global could run code."
        )


def load(path):
    """The object in the pickle at `path` (Python-2 strings decoded as latin1)."""
    with open(path, "rb") as f:
        try:
            return RestrictedUnpickler(f, encoding="latin1").load()
        except RefusedGlobal as error:
            raise RefusedGlobal(f"{path}: {error}") from None
        except (
            pickle.UnpicklingError,
            EOFError,
            ValueError,
            TypeError,
            IndexError,
            KeyError,
        ) as error:
            raise pickle.UnpicklingError(
                f"{path} is not a complete pickle (truncated or corrupt): {error!r}"
            ) from error
