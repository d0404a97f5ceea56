"""The workflows of the crash tests, and what the tests push and expect of them.

Every workflow takes a ``key`` unique to the execution, so that an execution whose creation was
never answered (the server died meanwhile) can still be found and checked, and so that the
side-effect counter can tell how many times each std.http request was sent.
"""

from __future__ import annotations

#: How a non-safe action caught running by a kill is failed at restart (the start of the message).
IN_DOUBT = "The server stopped while action std.http was running"
CHAIN_LENGTHS = range(5, 11)


def _chain(length: int) -> str:
    """``chain_<length>``: echo and noop tasks one after the other; the last one echoes ``<key>/<length>``."""
    lines = [
        f"chain_{length}:",
        "  input: [key]",
        "  output:",
        "    key: <% $.key %>",
        "    step: <% $.step %>",
        "  tasks:",
    ]
    for number in range(1, length + 1):
        lines.append(f"    t{number}:")
        if number % 2 or number == length:
            lines += [
                "      action: std.echo",
                "      input:",
                f"        output: <% $.key %>/{number}",
                "      publish:",
                "        step: <% task().result %>",
            ]
        else:
            lines.append("      action: std.noop")
        if number < length:
            lines.append(f"      on-success: [t{number + 1}]")
    return "\n".join(lines) + "\n"


WORKFLOWS = (
    "---\nversion: '2.0'\n"
    + "".join(_chain(length) for length in CHAIN_LENGTHS)
    + """\
wait_push:
  input: [key]
  output:
    res: <% $.res %>
  tasks:
    first:
      action: std.echo output=<% $.key %>
      on-success: [wait]
    wait:
      action: std.async_noop
      publish:
        res: <% task().result %>
wait_timeout:
  input: [key]
  output:
    handled: <% $.handled %>
  tasks:
    wait:
      action: std.async_noop
      timeout: 2
      on-error: [handler]
    handler:
      action: std.echo output="handled"
      publish:
        handled: <% task().result %>
retry_wait:
  input: [key, base]
  output:
    after: <% $.after %>
  tasks:
    flaky:
      action: std.http
      input:
        url: <% $.base %>/flaky?key=<% $.key %>
        timeout: 30
      safe-rerun: true
      retry:
        count: 2
        delay: 1
      on-success: [later]
    later:
      action: std.echo output=<% $.key %>
      wait-before: 1
      wait-after: 1
      publish:
        after: <% task().result %>
http_once:
  input: [key, base]
  output:
    status: <% $.status %>
  tasks:
    call:
      action: std.http
      input:
        url: <% $.base %>/once?key=<% $.key %>
        timeout: 30
      publish:
        status: <% task().result.status %>
      on-success: [done]
    done:
      action: std.noop
http_safe:
  input: [key, base]
  output:
    status: <% $.status %>
  tasks:
    call:
      action: std.http
      input:
        url: <% $.base %>/safe?key=<% $.key %>
        timeout: 30
      safe-rerun: true
      publish:
        status: <% task().result.status %>
      on-success: [done]
    done:
      action: std.noop
"""
)


def pushed_output(action_ex_id: str) -> dict[str, str]:
    """The result the test pushes for an async wait: derived from its id, so a repeated push is equal."""
    return {"pushed": action_ex_id}
