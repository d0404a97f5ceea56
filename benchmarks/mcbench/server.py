"""The server under test: ``mistral-core serve`` started here, or one already running."""

from __future__ import annotations

import dataclasses
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
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
        code: where the server's ``mistral_core`` package was imported from, when started here.
        token: the secret of the admin key made for a server started with authentication by keys.
    """

    base: str
    pid: int | None
    db_path: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    workdir: Path | None = None
    code: str | None = None
    token: str | None = None

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

    def log_problems(self) -> list[tuple[int, str]]:
        """The WARNING/ERROR records the server logged, alike ones counted together, most frequent first.

        A record followed by a traceback is shown with the traceback's last line (the exception).
        """
        path = self.log_path
        if path is None or not path.exists():
            return []
        counts: Counter[str] = Counter()
        examples: dict[str, str] = {}
        for record in _records(path.read_text(errors="replace").splitlines()):
            key = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}|\d+", "#", record)
            counts[key] += 1
            examples.setdefault(key, record)
        return [(n, examples[key]) for key, n in counts.most_common()]


_LEVEL = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (WARNING|ERROR|CRITICAL) (.*)$")


def _records(lines: list[str]) -> Iterator[str]:
    """Each WARNING+ record of a log, ``: <exception line>`` appended when a traceback follows it."""
    record: str | None = None
    in_traceback = False
    for line in lines:
        match = _LEVEL.match(line)
        if match or (not line.startswith((" ", "Traceback")) and not in_traceback):
            if record is not None:
                yield record
            record = f"{match.group(1)} {match.group(2)}" if match else None
            in_traceback = False
        elif line.startswith("Traceback"):
            in_traceback = True
            record = record or "Traceback"
        elif in_traceback and not line.startswith(" "):
            record = f"{record}: {line.strip()}"
            in_traceback = False
    if record is not None:
        yield record


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


#: This checkout (the repository ``--rev`` options export revisions of).
REPO = Path(__file__).resolve().parent.parent.parent
#: The ``--rev`` of the code this virtualenv imports, rather than a git revision's.
INSTALLED = "installed"


def revision_of(rev: str) -> tuple[Path, str] | None:
    """What :func:`start` and :func:`clean_env` take for a ``--rev`` value (None: :data:`INSTALLED`)."""
    return None if rev == INSTALLED else (REPO, rev)


def clean_env(revision: tuple[Path, str] | None, workdir: Path) -> dict[str, str]:
    """This environment without the caller's settings (``MISTRAL_CORE_*``); with ``revision``
    (repository, revision), that commit's code exported into ``workdir`` and first on PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MISTRAL_CORE_")}
    if revision is not None:
        roots = [str(p) for p in export_revision(*revision, workdir / "source")]
        if env.get("PYTHONPATH"):
            roots.append(env["PYTHONPATH"])
        env["PYTHONPATH"] = os.pathsep.join(roots)
    return env


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
    database_url: str | None = None,
    ready_seconds: float = 60.0,
    log_level: str = "INFO",
    revision: tuple[Path, str] | None = None,
    auth_keys: bool = False,
    key_project: str | None = None,
    port: int | None = None,
) -> Server:
    """Start ``mistral-core serve`` on a free port (or ``port``) with a new SQLite file in a temporary
    directory.

    Args:
        database_url: another database instead of the temporary SQLite file.
        ready_seconds: how long the server may take to answer.
        log_level: the server's (INFO says when it stops; requests are not logged).
        revision: ``(repository, revision)``: serve that commit's code (``git archive`` into the
            temporary directory, put first on PYTHONPATH) instead of what the virtualenv has installed.
        auth_keys: serve with ``--auth keys``, with an admin key made first (its secret in
            :attr:`Server.token`, for the client to send).
        key_project: the key's project (None: the default project, whose admin sees every project;
            another one makes every read and write check the project).
        port: the port to serve on (default: a free one).

    Raises:
        RuntimeError: the server did not come up (its log is in the message).
    """
    command = find_command()
    workdir = Path(tempfile.mkdtemp(prefix="mistral-core-bench-"))
    db_path = None if database_url else workdir / "bench.db"
    url = database_url or f"sqlite:///{db_path}"
    port = port or free_port()
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
    env = clean_env(revision, workdir)
    code = imported_from(command, env, workdir)
    token = _make_key(command, url, env, workdir, key_project) if auth_keys else None
    if auth_keys:
        argv += ["--auth", "keys"]
    with (workdir / "server.log").open("wb") as log:
        process = subprocess.Popen(
            argv, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    server = Server(f"http://127.0.0.1:{port}", process.pid, db_path, process, workdir, code, token)
    client = Client(server.base)
    try:
        client.wait_ready(ready_seconds, alive=server.alive)
    except TimeoutError as exc:
        stop(server, keep_files=True)
        raise RuntimeError(f"{exc}; its log ({server.log_path}):\n{server.log_tail()}") from None
    finally:
        client.close()
    return server


def _make_key(
    command: Path, database_url: str, env: dict[str, str], cwd: Path, project: str | None = None
) -> str:
    """``mistral-core keys create`` of an admin key in the server's database; its secret.

    Raises:
        RuntimeError: the key could not be made.
    """
    argv = [
        str(command),
        "keys",
        "create",
        "--name",
        "bench",
        "--role",
        "admin",
        "--database-url",
        database_url,
        *(["--project", project] if project else []),
    ]
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"mistral-core keys create: {done.stderr.strip()}")
    return done.stdout.splitlines()[-1]


def export_revision(repository: Path, revision: str, destination: Path) -> list[Path]:
    """Write the files of ``revision`` into ``destination``; return the import roots (project, plugins).

    Raises:
        RuntimeError: git cannot export the revision.
    """
    done = subprocess.run(["git", "archive", "--format=tar", revision], cwd=repository, capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"git archive {revision}: {done.stderr.decode(errors='replace').strip()}")
    destination.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        archive.extractall(destination, filter="data")
    plugins = sorted(p for p in (destination / "plugins").glob("*") if (p / "setup.cfg").exists())
    return [destination, *plugins]


def imported_from(command: Path, env: dict[str, str], cwd: Path) -> str | None:
    """The directory ``mistral_core`` is imported from by the Python of ``command``."""
    python = command.parent / "python"
    if not python.exists():
        return None
    done = subprocess.run(
        [str(python), "-c", "import mistral_core; print(mistral_core.__file__)"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return str(Path(done.stdout.strip()).parent) if done.returncode == 0 else None


def stop(server: Server, keep_files: bool = False, grace: float = 60.0) -> dict[str, object]:
    """SIGTERM a server started here, wait for it (SIGKILL after ``grace`` s), remove its files.

    Returns:
        ``exit_code`` and ``stop_seconds`` (empty for a server not started here).
    """
    process = server.process
    if process is None:
        return {}
    started = time.monotonic()
    exited_before = process.poll() is not None
    if not exited_before:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    result: dict[str, object] = {
        "exit_code": process.returncode,
        "exited_before_sigterm": exited_before,
        "stop_seconds": round(time.monotonic() - started, 2),
    }
    if server.workdir is not None:
        if keep_files:
            result["kept"] = str(server.workdir)
        else:
            shutil.rmtree(server.workdir, ignore_errors=True)
    return result
