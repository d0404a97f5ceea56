"""The engine's services: the transactions around the pure decisions of :mod:`mistral_core.engine`.

``Engine`` (in :mod:`.engine`) wires them: definitions, executions (start and
control), results, action runs, cron triggers, timers and recovery, all over
one unit of work (:mod:`.unit_of_work`).
"""
