"""Loopback is not a boundary: refuse what a browser sends on behalf of another site.

Two rules, checked by :class:`BrowserGuard` before routing:

* **Cross-site writes (CSRF).** A page anywhere on the web can make its visitor's browser
  send a ``text/plain`` POST to ``http://127.0.0.1:8989`` without any CORS preflight.
  Browsers mark such requests: ``Origin`` names the page's origin, and ``Sec-Fetch-Site``
  says ``cross-site`` or ``same-site``. A POST, PUT, PATCH or DELETE whose ``Origin`` is
  not an allowed origin, or that says ``Sec-Fetch-Site: cross-site``/``same-site`` without
  an allowed ``Origin``, is refused with 403. The allowed origins are the service's own
  (that of ``public_url``) and those configured (setting ``allowed_origins``; ``*`` allows
  every origin). The ``mistral`` CLI, curl and services pushing results send neither
  header, and are served as before.
* **DNS rebinding.** A page on ``evil.example`` can re-point that name at 127.0.0.1 and
  then read the API as "same-origin"; its requests still carry ``Host: evil.example``.
  A request whose ``Host`` is not an allowed name (any port) is refused with **421
  Misdirected Request**: the name, not the request, is wrong — "this server does not
  serve that name" is what 421 says, and it keeps such refusals apart from the 400s of
  bad input. The names are given by :func:`allowed_host_names`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Iterable
from urllib.parse import urlsplit

import falcon

from mistral_core.errors import MistralError

ANY = "*"
#: The names of the loopback interface, allowed by default when the service listens there.
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_CROSS = frozenset({"cross-site", "same-site"})


class CrossSiteRequestError(MistralError):
    """A state-changing request a browser sent for another site (403)."""


class MisdirectedRequestError(MistralError):
    """A request for a host name this service does not answer to (421)."""


def is_loopback(host: str) -> bool:
    """Whether the listening address ``host`` is a loopback address (or ``localhost``)."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def allowed_host_names(
    listen_host: str, public_url: str, configured: Collection[str]
) -> frozenset[str] | None:
    """The ``Host`` names the service answers to, or ``None`` for any.

    Args:
        listen_host: the address the service listens on.
        public_url: its public URL (its host is always allowed).
        configured: the setting ``allowed_hosts``: empty for the default, ``*`` for any.

    With no setting, a service listening on loopback answers to the loopback names and the
    host of ``public_url``; one listening elsewhere answers to any name (its clients may use
    any of the machine's names; put the names in ``allowed_hosts`` to check them).
    """
    if ANY in configured:
        return None
    if not configured and not is_loopback(listen_host):
        return None
    names = {_normal(name) for name in (*configured, *(() if configured else LOOPBACK_NAMES))}
    public_host = urlsplit(public_url).hostname
    if public_host:
        names.add(_normal(public_host))
    return frozenset(names)


def allowed_origin_set(public_url: str, configured: Iterable[str]) -> frozenset[str] | None:
    """The origins allowed to write, or ``None`` for any (``*`` configured)."""
    origins = {origin.strip().rstrip("/").lower() for origin in configured if origin.strip()}
    if ANY in origins:
        return None
    parts = urlsplit(public_url)
    if parts.scheme and parts.netloc:
        origins.add(f"{parts.scheme}://{parts.netloc}".lower())
    return frozenset(origins)


class BrowserGuard:
    """Falcon middleware applying the two rules of this module.

    Args:
        hosts: the allowed host names (see :func:`allowed_host_names`), ``None`` for any.
        origins: the allowed origins (see :func:`allowed_origin_set`), ``None`` for any.
    """

    def __init__(self, hosts: frozenset[str] | None, origins: frozenset[str] | None) -> None:
        self._hosts = hosts
        self._origins = origins

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Refuse a request for a host name not served here, or a cross-site write.

        Raises:
            MisdirectedRequestError: the ``Host`` is not an allowed name (421).
            CrossSiteRequestError: a browser's cross-site POST/PUT/PATCH/DELETE (403).
        """
        if self._hosts is not None:
            check_host(self._hosts, req.get_header("Host"))
        if self._origins is not None and req.method in _WRITES:
            check_origin(self._origins, req.get_header("Origin"), req.get_header("Sec-Fetch-Site"))


def check_host(hosts: frozenset[str], header: str | None) -> None:
    """Refuse a ``Host`` header whose name is not in ``hosts`` (no header: HTTP/1.0, no browser).

    Raises:
        MisdirectedRequestError: the name is not allowed.
    """
    if header is not None and _host_name(header) not in hosts:
        raise MisdirectedRequestError(
            f"Host {_shown(header)} is not served here; allowed: {', '.join(sorted(hosts))} "
            "(setting allowed_hosts)"
        )


def check_origin(origins: frozenset[str], origin: str | None, fetch_site: str | None) -> None:
    """Refuse a write whose ``Origin`` is not in ``origins``, or that a browser marked cross-site.

    Raises:
        CrossSiteRequestError: the request came from another site's page.
    """
    if origin is not None:
        if origin.strip().rstrip("/").lower() not in origins:
            raise CrossSiteRequestError(
                f"Cross-site request refused: origin {_shown(origin)} is not allowed "
                "(setting allowed_origins)"
            )
        return
    if fetch_site is not None and fetch_site.strip().lower() in _CROSS:
        raise CrossSiteRequestError(
            f"Cross-site request refused: the browser marked it {_shown(fetch_site)} and sent no "
            "Origin (setting allowed_origins)"
        )


def _host_name(header: str) -> str:
    """The name of a ``Host`` header, without its port (``[::1]:8989`` -> ``::1``)."""
    value = header.strip()
    if value.startswith("["):
        return _normal(value[1:].partition("]")[0])
    name, _, port = value.rpartition(":")
    return _normal(name if name and port.isdigit() else value)


def _normal(name: str) -> str:
    return name.strip().strip("[]").rstrip(".").lower()


def _shown(value: str) -> str:
    """A header value for a one-line message: quoted, escaped, cut."""
    return repr(value[:80])
