"""Stopping on SIGTERM or SIGINT at a step boundary, so a preempted run loses nothing.

Kubernetes, Slurm and cloud preemption send SIGTERM first, then SIGKILL after
a grace period. While a `StopRequest` is open the first SIGTERM or SIGINT only
sets `requested`: the step in flight finishes, the trainer writes a
checkpoint of that iteration and exits with `EXIT_CODE`. A second signal acts
as usual (ends the process at once).
"""

import signal

# "Checkpointed, start me again": TensorFlow's preemption handler uses 42 too.
EXIT_CODE = 42
SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopRequest:
    """A context manager catching the first SIGTERM / SIGINT; `requested` names it."""

    def __init__(self):
        self.requested = None
        self._previous = {}

    def _catch(self, signum, frame):
        del frame
        self.requested = signal.Signals(signum).name
        for signum in SIGNALS:  # the next one is not caught
            signal.signal(signum, self._previous[signum])

    def __enter__(self):
        for signum in SIGNALS:
            self._previous[signum] = signal.signal(signum, self._catch)
        return self

    def __exit__(self, *exc):
        if self.requested is None:
            for signum, handler in self._previous.items():
                signal.signal(signum, handler)
        return False
