"""mcbench: the pieces of mistral-core's benchmarks (standard library only).

``benchmarks/run.py`` (REST, against a server) and ``benchmarks/engine_bench.py``
(in-process) import this package; it never imports ``mistral_core``.
"""
