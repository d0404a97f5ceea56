#!/usr/bin/env python3
"""An example worker for a long wait: it heartbeats with progress, extends its deadline while it
works, and stops when mistral-core tells it the work is no longer wanted.

It is the other side of a task such as::

    copy:
      action: std.mistral_http
      input:
        url: http://127.0.0.1:8991/jobs
        method: POST
        json: {files: 20}
        cancel_url: http://127.0.0.1:8991/cancel
      timeout: 30
      heartbeat-timeout: 10

``POST /jobs`` (with the ``Mistral-*`` headers) starts a job of ``files`` steps of ``--step``
seconds each, in a thread, and answers 202 at once. While it works, the job:

* sends ``POST <Mistral-Action-Execution-URL>/heartbeat`` every ``--beat`` seconds with
  ``{"progress": {"percent", "note"}}``, authenticated by its ``Mistral-Callback-Token``;
* reads the ``deadline`` the answer shows and, when less than two beats of it are left, asks at once
  for ``extend_by`` (``--extend`` seconds) in another heartbeat: the task's ``timeout`` moves;
* stops at once when mistral-core posts the cancel notice to ``/cancel``
  (``{"action_execution_id", "workflow_execution_id", "reason"}``), or when a heartbeat is
  answered 409 (the action ended otherwise, e.g. an operator completed it);
* pushes ``{"state": "SUCCESS", "output": {"copied": files}}`` when done.

Standard library only::

    python contrib/copy_worker/copy_worker.py --port 8991 [--step 0.5] [--beat 2] [--extend 30]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import logging
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LOG = logging.getLogger("copy_worker")

ACTION_URL_HEADER = "Mistral-Action-Execution-URL"
ACTION_ID_HEADER = "Mistral-Action-Execution-Id"
TOKEN_HEADER = "Mistral-Callback-Token"
TIMEOUT = 10.0
MAX_BODY = 65536


@dataclasses.dataclass
class Job:
    """One piece of work: what it is, where to report, and whether it is still wanted."""

    action_id: str
    action_url: str
    token: str | None
    files: int
    stopped: threading.Event = dataclasses.field(default_factory=threading.Event)


def call(job: Job, method: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """One request to mistral-core about ``job``: the status and the JSON answer ({} if none)."""
    headers = {"Content-Type": "application/json"}
    if job.token:
        headers[TOKEN_HEADER] = job.token  # never logged
    request = urllib.request.Request(
        job.action_url + path, data=json.dumps(body).encode(), method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, {"faultstring": exc.read(300).decode("utf-8", errors="replace")}
    except (urllib.error.URLError, OSError) as exc:
        LOG.warning("%s %s%s failed: %s", method, job.action_url, path, exc)
        return 0, {}


def heartbeat(job: Job, done: int, beat: float, extend: float) -> None:
    """Say how far the job got; when the deadline is near, ask for more time at once."""
    percent = round(100 * done / job.files)
    body = {"progress": {"percent": percent, "note": f"copied {done} of {job.files} files"}}
    answer = _beat(job, body)
    if answer is None:
        return
    if _near(answer.get("deadline"), answer.get("last_heartbeat_at"), 2 * beat):
        extended = _beat(job, {"extend_by": extend})  # not at the next beat: that may be too late
        if extended is not None:
            answer = extended
            LOG.info("job %s: asked for %gs more", job.action_id, extend)
    LOG.info("job %s: heartbeat %d%%; deadline %s", job.action_id, percent, answer.get("deadline"))


def _beat(job: Job, body: dict[str, Any]) -> dict[str, Any] | None:
    """One heartbeat; its answer, or None (a 409 stops the job: the action ended otherwise)."""
    status, answer = call(job, "POST", "/heartbeat", body)
    if status == 409:  # nobody wants the rest of the work
        LOG.info("job %s: %s; stopping", job.action_id, answer.get("faultstring", "ended"))
        job.stopped.set()
        return None
    if status != 200:
        LOG.warning("job %s: heartbeat answered %s", job.action_id, status)
        return None
    return answer


def _near(deadline: str | None, now: str | None, margin: float) -> bool:
    """Whether less than ``margin`` seconds are left before ``deadline`` (both server times)."""
    if not deadline or not now:
        return False
    left = dt.datetime.fromisoformat(deadline) - dt.datetime.fromisoformat(now)
    return left.total_seconds() < margin


def work(job: Job, step: float, beat: float, extend: float) -> None:
    """Do the job step by step, heartbeating; push the result unless it was stopped."""
    since_beat = beat  # the first heartbeat goes out at once
    for done in range(job.files):
        if since_beat >= beat:
            heartbeat(job, done, beat, extend)
            since_beat = 0.0
        if job.stopped.wait(step):
            LOG.info("job %s: stopped after %d of %d files", job.action_id, done, job.files)
            return
        since_beat += step
    status, _ = call(job, "POST", "", {"state": "SUCCESS", "output": {"copied": job.files}})
    LOG.info("job %s: done, result pushed -> %s", job.action_id, status)


class WorkerHandler(BaseHTTPRequestHandler):
    """``POST /jobs`` starts a job; ``POST /cancel`` stops one."""

    server: WorkerServer

    def log_message(self, format: str, *args: Any) -> None:
        """Our own log lines replace http.server's."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._answer(413, {"error": "body too large"})
            return
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._answer(400, {"error": "the body is not JSON"})
            return
        if self.path == "/jobs":
            self._start(body if isinstance(body, dict) else {})
        elif self.path == "/cancel":
            self._cancel(body if isinstance(body, dict) else {})
        else:
            self._answer(404, {"error": f"no {self.path} here"})

    def _start(self, body: dict[str, Any]) -> None:
        action_url = self.headers.get(ACTION_URL_HEADER)
        action_id = self.headers.get(ACTION_ID_HEADER)
        files = body.get("files", 10)
        if not action_url or not action_id or not isinstance(files, int) or files < 1:
            self._answer(400, {"error": f"needs {ACTION_URL_HEADER}, {ACTION_ID_HEADER} and files >= 1"})
            return
        job = Job(action_id, action_url.rstrip("/"), self.headers.get(TOKEN_HEADER), files)
        self.server.jobs[action_id] = job
        args = (job, self.server.step, self.server.beat, self.server.extend)
        threading.Thread(target=work, args=args, name=f"job-{action_id}", daemon=True).start()
        LOG.info("job %s: %d files accepted", action_id, files)
        self._answer(202, {"accepted": True})

    def _cancel(self, body: dict[str, Any]) -> None:
        job = self.server.jobs.get(str(body.get("action_execution_id")))
        LOG.info("cancel notice for %s: %s", body.get("action_execution_id"), body.get("reason"))
        if job is not None:
            job.stopped.set()
        self._answer(200, {"stopped": job is not None})  # an unknown job is told all the same

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class WorkerServer(ThreadingHTTPServer):
    """The worker: its jobs and its pace."""

    daemon_threads = True

    def __init__(self, host: str, port: int, step: float, beat: float, extend: float) -> None:
        super().__init__((host, port), WorkerHandler)
        self.jobs: dict[str, Job] = {}
        self.step, self.beat, self.extend = step, beat, extend


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until interrupted."""
    parser = argparse.ArgumentParser(description="A long job that heartbeats, extends and can be cancelled.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8991, help="port to listen on (default 8991; 0 = any)")
    parser.add_argument("--step", type=float, default=0.5, help="seconds per file (default 0.5)")
    parser.add_argument("--beat", type=float, default=2.0, help="seconds between heartbeats (default 2)")
    parser.add_argument("--extend", type=float, default=30.0, help="seconds asked for when late (default 30)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s copy_worker %(message)s")
    server = WorkerServer(args.host, args.port, args.step, args.beat, args.extend)
    LOG.info("listening on http://%s:%d", args.host, server.server_address[1])
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
