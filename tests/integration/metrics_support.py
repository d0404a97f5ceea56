"""Scraping ``/metrics`` as Prometheus does, parsed with prometheus_client's own text parser."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client.parser import text_string_to_metric_families

from tests.integration.support import request

#: A scrape: (sample name, sorted labels) -> value.
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str, token: str | None = None) -> Samples:
    """GET ``url`` (a ``/metrics``), parsed; fails unless it answers 200 in Prometheus' text format."""
    headers = {"X-Auth-Token": token} if token else {}
    answer = request("GET", url, headers=headers)
    assert answer.status == 200, answer
    assert answer.headers["content-type"].startswith("text/plain"), answer.headers
    samples: Samples = {}
    for family in text_string_to_metric_families(answer.body.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """The value of one sample (0 if the scrape has none: a counter not yet incremented)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels``."""
    return sum(v for (n, found), v in samples.items() if n == name and set(labels.items()) <= set(found))


def delta(after: Samples, before: Samples, name: str, **labels: str) -> float:
    """How much a counter moved between two scrapes."""
    return value(after, name, **labels) - value(before, name, **labels)


def names(samples: Mapping[tuple[str, tuple[tuple[str, str], ...]], float]) -> set[str]:
    """The sample names of a scrape."""
    return {name for name, _ in samples}
