"""Storage of definitions and executions: an in-memory store and SQL stores (SQLite, PostgreSQL).

Rows never leave this package: every store speaks the records of
:mod:`mistral_core.model` through the :class:`~mistral_core.engine.ports.ExecutionStore` port.
"""

from mistral_core.persistence.memory import MemoryStore
from mistral_core.persistence.sql import SqlStore, open_serving_store, open_store

__all__ = ["MemoryStore", "SqlStore", "open_serving_store", "open_store"]
