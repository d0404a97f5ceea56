"""The RabbitMQ of 127.0.0.1:5672 for tests: a fresh vhost per test, and restarting the broker.

The broker is the machine's (``rabbitmqctl`` talks to it; the tests run as root). A test gets a
vhost of its own, deleted afterwards, so no queue of another run is seen. Without a broker the
tests are skipped, except on CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest

HOST, PORT = "127.0.0.1", 5672


def _on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _unavailable(reason: str) -> None:
    if _on_ci():
        pytest.fail(f"RabbitMQ is required on CI: {reason}")
    pytest.skip(f"RabbitMQ unavailable: {reason}")


def ctl(*args: str, timeout: float = 60.0) -> str:
    """Run ``rabbitmqctl ARGS``; its output (fails the test if it fails)."""
    done = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"rabbitmqctl {' '.join(args)}: {done.stderr.strip()[-500:]}"
    return done.stdout


def listening() -> bool:
    """Whether the broker accepts connections."""
    try:
        with socket.create_connection((HOST, PORT), timeout=1.0):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def vhost() -> Iterator[str]:
    """The AMQP URL of a new vhost (guest may do everything there), deleted afterwards."""
    if shutil.which("rabbitmqctl") is None:
        _unavailable("rabbitmqctl not found")
    if not listening():
        _unavailable(f"nothing listens on {HOST}:{PORT}")
    name = f"mc_test_{uuid.uuid4().hex[:10]}"
    ctl("add_vhost", name)
    try:
        ctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@{HOST}:{PORT}/{name}"
    finally:
        ensure_running()
        ctl("delete_vhost", name)


def ensure_running() -> None:
    """Start the broker's application again if a test left it stopped."""
    if not listening():
        ctl("start_app")
    deadline = time.monotonic() + 60
    while not listening():
        assert time.monotonic() < deadline, "RabbitMQ did not come back"
        time.sleep(0.2)


@contextlib.contextmanager
def stopped() -> Iterator[None]:
    """The broker stopped (``rabbitmqctl stop_app``: every connection dropped; durable queues and
    persistent messages kept), started again on exit whatever happens."""
    ctl("stop_app")
    try:
        yield
    finally:
        ensure_running()
