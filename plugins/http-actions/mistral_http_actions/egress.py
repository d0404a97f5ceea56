"""Where std.http may send requests: only http/https, never to a denied address range.

The deny list is read from the environment variable ``MISTRAL_CORE_HTTP_DENIED_CIDRS``
(a comma-separated list of CIDRs; an empty string denies nothing) at every request,
so an operator changes it without touching code. When the variable is not set the
default (:data:`DEFAULT_DENIED_CIDRS`) denies link-local addresses and every
well-known cloud metadata address, IPv4 and IPv6, and allows loopback, so that the
local examples work; production should deny loopback and private ranges too (see
docs/operations.md).

Every address the URL's host resolves to is checked, and so is the IPv4 address an
IPv6 address carries: IPv4-mapped (``::ffff:169.254.169.254``), NAT64 with the
well-known prefix (``64:ff9b::a9fe:a9fe``), 6to4 (``2002:a9fe:a9fe::``). Names and
numeric spellings (``metadata.google.internal``, ``2852039166``, ``0xa9fea9fe``) are
checked as the addresses they resolve to. The check runs before each request and
before following each redirect. It does not pin the address it checked: a DNS answer that changes between
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
#: Denied when the environment says nothing: (CIDR, what is there).
DEFAULT_DENIED: tuple[tuple[str, str], ...] = (
    (
        "169.254.0.0/16",
        "IPv4 link-local: the metadata service of AWS, GCP (metadata.google.internal), "
        "Azure, OpenStack, DigitalOcean, Oracle, Hetzner, Tencent (169.254.0.23); AWS ECS (169.254.170.2)",
    ),
    ("fe80::/10", "IPv6 link-local (OpenStack's fe80::a9fe:a9fe)"),
    ("fd00:ec2::/32", "AWS Nitro services over IPv6: instance metadata fd00:ec2::254, DNS, NTP"),
    ("fd20:ce::254/128", "GCP metadata over IPv6"),
    ("100.100.100.200/32", "Alibaba Cloud metadata"),
    ("168.63.129.16/32", "Azure wireserver (platform agent channel)"),
    ("192.0.0.192/32", "Oracle Cloud legacy metadata"),
)
DEFAULT_DENIED_CIDRS = ",".join(cidr for cidr, _ in DEFAULT_DENIED)
#: NAT64's well-known prefix (RFC 6052): the last 32 bits are an IPv4 address.
NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")
ALLOWED_SCHEMES = ("http", "https")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class EgressRefused(ActionError):
    """The policy refuses the URL (its scheme, no host, a denied address): sending it again is
    pointless until the URL or the policy changes."""


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
        EgressRefused: a scheme other than http/https, no host, or an address inside a denied range.
        ActionError: a host that does not resolve (or the deny list is broken).
    """
    if scheme not in ALLOWED_SCHEMES:
        raise EgressRefused(f"HTTP request to {url} refused: only http and https URLs are allowed")
    if not host:
        raise EgressRefused(f"HTTP request to {url} refused: the URL has no host")
    networks = denied_networks()
    if not networks:
        return
    for address in _resolve(url, host, port):
        network = _denying(address, networks)
        if network is not None:
            raise EgressRefused(
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


def embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address reaches: IPv4-mapped, NAT64 (64:ff9b::/96) or 6to4; else ``None``."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def _denying(address: Address, networks: Sequence[Network]) -> Network | None:
    """The first denied network that contains ``address`` or the IPv4 address it embeds, or ``None``."""
    candidates: list[Address] = [address]
    embedded = embedded_ipv4(address)
    if embedded is not None:
        candidates.append(embedded)
    for network in networks:
        for candidate in candidates:
            if candidate.version == network.version and candidate in network:
                return network
    return None
