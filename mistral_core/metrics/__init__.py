"""Metrics and logs for operators: the Prometheus ``/metrics`` endpoint and JSON log lines.

- :mod:`.instruments`: the counters and histograms a process keeps (requests, transactions,
  result pushes, finished records, actions run), and :class:`~.instruments.MeteredHooks`, which
  counts records as they finish;
- :mod:`.collectors`: what is read at scrape time (the unfinished records, waits and due timers
  from the store, in one statement cached for a few seconds; queue depths);
- :mod:`.exposition`: one process's metrics and the text of a scrape (prometheus_client's
  multiprocess mode under gunicorn; a port of its own for engines and executors);
- :mod:`.logs`: JSON log lines carrying the execution, task and action execution ids
  (setting ``log_format = json``); standard library only, so that any part may use it.

Labels are bounded: states, outcomes, HTTP methods, route templates (never ids), status codes
and queue names.
"""
