"""Quiet start-up for the entry points: TensorFlow's start-up lines are filtered out.

TensorFlow 2.21 writes its start-up lines (oneDNN, CUDA drivers, CPU
features, cuInit) through C++ logging before that logging is initialised,
where `TF_CPP_MIN_LOG_LEVEL` does not reach them. So stderr (fd 2) is
passed through a small filter process that drops exactly those lines, and
one known harmless grappler error, and forwards everything else as it
comes; being a separate process, it forwards a crashing command's last
words too. `TF_CPP_MIN_LOG_LEVEL` is set to 1 (C++ INFO lines off, warnings
and errors kept).

The grappler line: the remapper fuses an explicit `Pad` into the strided
convolution after it, and then fails on the training graph because the
convolution's gradient still reads the pad's shape (`ShapeN`). The pass is
dropped for that graph; measured, a training step is as fast with the
remapper off as on (I3D-NL R50, 1.105 vs 1.115 s), so nothing is lost.

Nothing is filtered when the user asks for logs: `TF_CPP_MIN_LOG_LEVEL`
already set, or `--verbosity` / `-v` on the command line.
"""

import atexit
import os
import signal
import subprocess
import sys

# What TensorFlow prints on every start on a machine without a GPU, and the
# remapper's failure on a pad before a strided convolution (above).
KNOWN_LINES = (
    r"All log messages before absl::InitializeLog\(\) is called",
    r"port\.cc:\d+\] oneDNN custom operations are on",
    r"cudart_stub\.cc:\d+\] Could not find cuda drivers",
    r"cpu_feature_guard\.cc:\d+\] This TensorFlow binary is optimized",
    r"^To enable the following instructions: .* rebuild TensorFlow",
    r"cuda_platform\.cc:\d+\] failed call to cuInit",
    r"remapper failed: INVALID_ARGUMENT: Mutation::Apply error: fanout '\S+/ShapeN' exist for "
    r"missing node '\S+_pad(_\d+)?/Pad'",
)

_FILTER = """
import re, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
drop = re.compile(sys.argv[1])
out = sys.stdout.buffer
for line in sys.stdin.buffer:
    if not drop.search(line.decode("utf-8", "replace")):
        out.write(line)
        out.flush()
"""


def verbose_requested(argv):
    """True when the command line has absl's `--verbosity` / `-v`."""
    return any(a in ("-v", "--verbosity") or a.startswith(("--verbosity=", "-v=")) for a in argv)


def quiet_tensorflow():
    """Filters TensorFlow's start-up lines out of this process's stderr (and its children's)."""
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ or verbose_requested(sys.argv[1:]):
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "1"
    sys.stderr.flush()
    read, write = os.pipe()
    terminal = os.dup(2)
    # Its own session: a Ctrl-C for the command does not stop the filter first.
    process = subprocess.Popen(
        [sys.executable, "-I", "-c", _FILTER, "|".join(KNOWN_LINES)],
        stdin=read,
        stdout=terminal,
        start_new_session=True,
    )
    os.dup2(write, 2)
    for fd in (read, write, terminal):
        os.close(fd)

    def drain():
        # The filter ends at end of input: close our end, let it forward the rest.
        sys.stderr.flush()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)

    atexit.register(drain)
