"""The split deployment under test: ``mistral-core api`` (gunicorn), engines and executors over a broker.

They are started as children of one process (``group.py``), so the harness measures their CPU and
memory as one tree, exactly as it measures ``mistral-core serve``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from mcbench import server
from mcbench.rest import Client

GROUP = Path(__file__).resolve().parent / "group.py"


def start(
    database_url: str,
    transport: str,
    workers: int = 2,
    engines: int = 1,
    executors: int = 1,
    revision: tuple[Path, str] | None = None,
    ready_seconds: float = 60.0,
    settings: dict[str, str] | None = None,
) -> server.Server:
    """Upgrade the database, then start the API (``workers`` gunicorn workers), ``engines`` engines
    and ``executors`` executors on a free port; the server's pid is that of the group. ``settings``
    are more environment variables for all of them (``MISTRAL_CORE_EXECUTOR_THREADS``: ``64``).

    Raises:
        RuntimeError: the schema could not be made or the API did not come up (its log in the message).
    """
    command = str(server.find_command())
    workdir = Path(tempfile.mkdtemp(prefix="mistral-core-bench-split-"))
    port = server.free_port()
    base = f"http://127.0.0.1:{port}"
    env = server.clean_env(revision, workdir)
    env.update(
        MISTRAL_CORE_DATABASE_URL=database_url, MISTRAL_CORE_TRANSPORT=transport, MISTRAL_CORE_PUBLIC_URL=base
    )
    env.update(settings or {})
    done = subprocess.run([command, "db", "upgrade"], env=env, cwd=workdir, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"mistral-core db upgrade: {done.stderr.strip()[-500:]}")
    commands = [[command, "engine"] for _ in range(engines)]
    commands += [[command, "executor"] for _ in range(executors)]
    commands.append([command, "api", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)])
    with (workdir / "server.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(GROUP), json.dumps(commands)],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    code = server.imported_from(Path(command), env, workdir)
    srv = server.Server(base, process.pid, None, process, workdir, code)
    client = Client(base)
    try:
        client.wait_ready(ready_seconds, alive=srv.alive)
    except TimeoutError as exc:
        server.stop(srv, keep_files=True)
        raise RuntimeError(f"{exc}; its log ({srv.log_path}):\n{srv.log_tail()}") from None
    finally:
        client.close()
    return srv
