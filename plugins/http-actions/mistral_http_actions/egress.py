"""Where std.http may send requests: only http/https, never to a denied address range.

The deny list is read from the environment variable ``MISTRAL_CORE_HTTP_DENIED_CIDRS``
(a comma-separated list of CIDRs; an empty string denies nothing) at every request,
so an operator changes it without touching code. When the variable is not set the
default denies link-local and cloud-metadata ranges (``169.254.0.0/16``,
``fe80::/10``) and allows loopback, so that the local examples work; production
should deny loopback and private ranges too (see docs/operations.md).

Every address the URL's host resolves to is checked, IPv4-mapped IPv6 addresses as
their IPv4 address. The check runs before each request and before following each
redirect. It does not pin the address it checked: a DNS answer that changes between
the check and the connection is not caught (use network-level egress rules where
that matters).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Sequence

from mistral_core import ActionError

DENIED_CIDRS_ENV = "MISTRAL_CORE_HTTP_DENIED_CIDRS"
DEFAULT_DENIED_CIDRS = "169.254.0.0/16,fe80::/10"
ALLOWED_SCHEMES = ("http", "https")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def denied_networks() -> list[Network]:
    """The deny list now in force (environment, else the default).

    Raises:
        ActionError: the environment variable holds something that is not a CIDR
            (failing closed: no request is sent with a broken policy).
    """
    text = os.environ.get(DENIED_CIDRS_ENV, DEFAULT_DENIED_CIDRS)
    networks = []
    for item in text.split(","):
        if not item.strip():
            continue
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ActionError(f"{DENIED_CIDRS_ENV} holds an invalid CIDR: {item.strip()!r}") from None
    return networks


def check_url(url: str, scheme: str | None, host: str | None, port: int | None) -> None:
    """Refuse ``url`` unless its scheme is http/https and no address of its host is denied.

    Args:
        url: the whole URL, for messages.
        scheme, host, port: its parsed parts.

    Raises:
        ActionError: a scheme other than http/https, no host, a host that does not
            resolve, or an address inside a denied range.
    """
    if scheme not in ALLOWED_SCHEMES:
        raise ActionError(f"HTTP request to {url} refused: only http and https URLs are allowed")
    if not host:
        raise ActionError(f"HTTP request to {url} refused: the URL has no host")
    networks = denied_networks()
    if not networks:
        return
    for address in _resolve(url, host, port):
        network = _denying(address, networks)
        if network is not None:
            raise ActionError(
                f"HTTP request to {url} refused by the egress policy: {address} is in the denied "
                f"range {network} ({DENIED_CIDRS_ENV})"
            )


def _resolve(url: str, host: str, port: int | None) -> list[Address]:
    """Every address ``host`` resolves to."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise ActionError(f"HTTP request to {url} failed: cannot resolve host {host!r} ({exc})") from None
    addresses = []
    for info in infos:
        text = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 zone index (fe80::1%eth0)
        addresses.append(ipaddress.ip_address(text))
    return addresses


def _denying(address: Address, networks: Sequence[Network]) -> Network | None:
    """The first denied network that contains ``address``, or ``None``."""
    candidates: list[Address] = [address]
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        candidates.append(address.ipv4_mapped)
    for network in networks:
        for candidate in candidates:
            if candidate.version == network.version and candidate in network:
                return network
    return None
