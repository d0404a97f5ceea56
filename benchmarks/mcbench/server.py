"""The server under test: ``mistral-core serve`` started here, or one already running."""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mcbench.rest import Client


@dataclasses.dataclass
class Server:
    """Where the server listens, its process id and, when known, its SQLite file.

    Attributes:
        base: ``http://host:port``.
        pid: the server's process (memory and CPU figures need it), or None.
        db_path: the SQLite file (database growth figures need it), or None.
        process: the process when this harness started it.
        workdir: the temporary directory holding the database and the log, when started here.
    """

    base: str
    pid: int | None
    db_path: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    workdir: Path | None = None

    @property
    def log_path(self) -> Path | None:
        """The server's output, when started here."""
        return None if self.workdir is None else self.workdir / "server.log"

    def alive(self) -> bool:
        """False once a server started here has exited."""
        return self.process is None or self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        """The last lines the server wrote."""
        path = self.log_path
        if path is None or not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def log_problems(self, limit: int = 10) -> tuple[int, list[str]]:
        """How many WARNING/ERROR/Traceback lines the server logged, and the first ``limit``."""
        path = self.log_path
        if path is None or not path.exists():
            return 0, []
        bad = [
            line
            for line in path.read_text(errors="replace").splitlines()
            if " WARNING " in line
            or " ERROR " in line
            or " CRITICAL " in line
            or line.startswith("Traceback")
        ]
        return len(bad), bad[:limit]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def find_command() -> Path:
    """``mistral-core`` beside this Python (its virtualenv), else the one on PATH.

    Raises:
        FileNotFoundError: neither exists.
    """
    beside = Path(sys.executable).parent / "mistral-core"
    if beside.exists():
        return beside
    found = shutil.which("mistral-core")
    if found:
        return Path(found)
    raise FileNotFoundError(
        f"no mistral-core command beside {sys.executable} nor on PATH: run this with the project's "
        "virtualenv (.venv/bin/python benchmarks/run.py), or start a server and pass --base URL --pid PID"
    )


def start(
    http_server: str | None = None,
    database_url: str | None = None,
    ready_seconds: float = 60.0,
    log_level: str = "WARNING",
) -> Server:
    """Start ``mistral-core serve`` on a free port with a new SQLite file in a temporary directory.

    Args:
        http_server: ``granian`` or ``stdlib`` (None: the server's default).
        database_url: another database instead of the temporary SQLite file.
        ready_seconds: how long the server may take to answer.

    Raises:
        RuntimeError: the server did not come up (its log is in the message).
    """
    command = find_command()
    workdir = Path(tempfile.mkdtemp(prefix="mistral-core-bench-"))
    db_path = None if database_url else workdir / "bench.db"
    url = database_url or f"sqlite:///{db_path}"
    port = _free_port()
    argv = [
        str(command),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--database-url",
        url,
        "--log-level",
        log_level,
    ]
    if http_server:
        argv += ["--http-server", http_server]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MISTRAL_CORE_")}
    with (workdir / "server.log").open("wb") as log:
        process = subprocess.Popen(
            argv, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    server = Server(f"http://127.0.0.1:{port}", process.pid, db_path, process, workdir)
    client = Client(server.base)
    try:
        client.wait_ready(ready_seconds, alive=server.alive)
    except TimeoutError as exc:
        stop(server, keep_files=True)
        raise RuntimeError(f"{exc}; its log ({server.log_path}):\n{server.log_tail()}") from None
    finally:
        client.close()
    return server


def stop(server: Server, keep_files: bool = False, grace: float = 60.0) -> dict[str, object]:
    """SIGTERM a server started here, wait for it (SIGKILL after ``grace`` s), remove its files.

    Returns:
        ``exit_code`` and ``stop_seconds`` (empty for a server not started here).
    """
    process = server.process
    if process is None:
        return {}
    started = time.monotonic()
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    result: dict[str, object] = {
        "exit_code": process.returncode,
        "stop_seconds": round(time.monotonic() - started, 2),
    }
    if server.workdir is not None:
        if keep_files:
            result["kept"] = str(server.workdir)
        else:
            shutil.rmtree(server.workdir, ignore_errors=True)
    return result
