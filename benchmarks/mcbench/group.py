"""Run several commands as one process tree: ``python group.py '<json list of argv lists>'``.

The benchmark measures a server through one process id (its tree's CPU and memory); the split
deployment is several processes, so they are started here, as children of this one. SIGTERM (or
SIGINT) is passed on to every child; when one child exits by itself, the others are stopped and
this process exits 1, so the harness sees "the server exited". Standard library only.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    """Start the commands, wait for a signal or for a child to exit, stop the others."""
    commands = json.loads(argv[1])
    children = [subprocess.Popen(command) for command in commands]
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _: stopping.append(signum))
    signal.signal(signal.SIGINT, lambda signum, _: stopping.append(signum))
    while not stopping and all(child.poll() is None for child in children):
        time.sleep(0.2)
    for child in reversed(children):  # the API first: it was started last
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    codes = [_wait(child) for child in reversed(children)]
    return 1 if not stopping else max(codes, default=0)


def _wait(child: subprocess.Popen[bytes], grace: float = 60.0) -> int:
    """The child's exit code; SIGKILL after ``grace`` seconds."""
    try:
        return child.wait(grace)
    except subprocess.TimeoutExpired:
        child.kill()
        return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
