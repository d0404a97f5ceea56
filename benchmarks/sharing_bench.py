#!/usr/bin/env python3
"""Sharing: what the memberships cost the lookups and lists of workflows, in statements and CPU.

Fills a new SQLite file (or ``--database-url``, an empty database) through the real store:
``--workflows`` (5,000) workflows of project p1, each shared (accepted) with p3 and p4, 100 of
them with p2 too, and 200 workflows of p2's own. Then, as project p2:

- the statements of a lookup by name of its own workflow (what starting it costs: unchanged by
  sharing), of a shared one by name and by id, and of a page of its list of workflows;
- the CPU per call of those, and of a list of 1,000 with the memberships asked (the subquery)
  against the same list without them (what a store without sharing did), in this process;
- on SQLite, the query plan of the list: the memberships are read through the index of
  ``(member_id, status)``, never scanned.

    .venv/bin/python benchmarks/sharing_bench.py [--workflows 5000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mistral_core.model import Query, Viewer, WorkflowDefinition
from mistral_core.model.members import ACCEPTED, WORKFLOW, ResourceMember
from mistral_core.persistence import querying, sqlquery
from mistral_core.persistence.columns import WORKFLOW_DEFINITIONS
from mistral_core.persistence.sql import SqlStore, open_serving_store

P2 = Viewer("p2")


def workflow(name: str, project: str) -> WorkflowDefinition:
    """A stored-looking workflow definition (the store does not parse it)."""
    at = dt.datetime(2026, 1, 1)
    return WorkflowDefinition(
        id=str(uuid.uuid4()), name=name, namespace="", definition="x", checksum="c",
        spec={"checksum": "c"}, project_id=project, scope="private", created_at=at,
    )  # fmt: skip


def fill(store: SqlStore, count: int) -> list[str]:
    """The workflows and memberships of the docstring; the ids of p1's workflows."""
    ids = []
    with store.atomic():
        for i in range(count):
            wf_def = workflow(f"wf{i}", "p1")
            store.create_workflow_definition(wf_def)
            ids.append(wf_def.id)
        for i in range(200):
            store.create_workflow_definition(workflow(f"own{i}", "p2"))
        for i, wf_id in enumerate(ids):
            members = ("p3", "p4", "p2") if i < 100 else ("p3", "p4")
            for member in members:
                store.create_resource_member(
                    ResourceMember(str(uuid.uuid4()), wf_id, WORKFLOW, "p1", member, ACCEPTED)
                )
    return ids


def statements(store: SqlStore, call: Callable[[], Any]) -> int:
    """How many statements ``call`` sends (SQLite's trace callback)."""
    sent: list[str] = []
    connection = store._db.connection()  # type: ignore[no-untyped-call]  # the store's own connection: its statements are counted
    connection.set_trace_callback(sent.append)
    try:
        call()
    finally:
        connection.set_trace_callback(None)
    return sum(
        1 for text in sent if text.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE"))
    )


def cpu_ms(call: Callable[[], Any], times: int) -> float:
    """CPU milliseconds of this process per call."""
    start = time.process_time()
    for _ in range(times):
        call()
    return (time.process_time() - start) / times * 1000


def listing(store: SqlStore, query: Query) -> str:
    """How many workflows a list shows, and its CPU per call."""
    shown = len(store.list_workflow_definitions(query))
    return f"{shown} shown, {cpu_ms(lambda: store.list_workflow_definitions(query), 50):.3f} ms CPU"


def main() -> None:
    """Run it and print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workflows", type=int, default=5000, help="p1's workflows [5000]")
    parser.add_argument("--database-url", help="an empty database (default: a new SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'sharing.db'}"
        store = open_serving_store(url)
        ids = fill(store, args.workflows)
        page, thousand = Query(project="p2", limit=100), Query(project="p2", limit=1000)
        calls: dict[str, Callable[[], Any]] = {
            "own workflow by name": lambda: store.get_workflow_definition("own7", "", P2),
            "shared workflow by name": lambda: store.get_workflow_definition("wf7", "", P2),
            "shared workflow by id": lambda: store.get_workflow_definition(ids[7], "", P2),
            "list, a page of 100": lambda: store.list_workflow_definitions(page),
        }
        if url.startswith("sqlite"):
            for label, call in calls.items():
                print(f"{label}: {statements(store, call)} statement(s)")
        for label, call in calls.items():
            print(f"{label}: {cpu_ms(call, 500):.3f} ms CPU")
        print(f"list of up to 1000, memberships asked: {listing(store, thousand)}")
        shared_tables = dict(querying.SHARED_TABLES)
        querying.SHARED_TABLES.clear()
        try:
            print(f"list of up to 1000, as without sharing: {listing(store, thousand)}")
        finally:
            querying.SHARED_TABLES.update(shared_tables)
        if url.startswith("sqlite"):
            plan = querying.make_plan(WORKFLOW_DEFINITIONS, thousand)
            dialect = store._dialect  # the store's own connection: its statements are counted
            sql, params = sqlquery.select_page(
                WORKFLOW_DEFINITIONS, plan, None, dialect.param, dialect.contains
            )
            for row in store._db.connection().execute("EXPLAIN QUERY PLAN " + sql, params):  # type: ignore[no-untyped-call]
                print("plan:", row[-1])


if __name__ == "__main__":
    main()
