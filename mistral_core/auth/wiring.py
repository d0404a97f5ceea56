"""Turning authentication on: the ``auth`` setting made into authenticators, and the checks of a
server's exposure that make it safe by default.

* :func:`build_authenticators`: ``auth = ["keys"]`` (``serve --auth keys``,
  ``MISTRAL_CORE_AUTH=keys``) gives a :class:`~mistral_core.auth.keys.KeyAuthenticator`;
  empty gives none (authentication off).
* :func:`check_exposure`: with authentication off, a server listens on loopback only unless told
  ``insecure_no_auth``; with it on, a public URL that is not https is warned about (secrets
  would cross the network in clear).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from urllib.parse import urlsplit

from mistral_core.auth.identity import Authenticator
from mistral_core.auth.keys import KeyAuthenticator
from mistral_core.auth.ports import KeyStore
from mistral_core.config import Settings
from mistral_core.errors import InputError

LOG = logging.getLogger(__name__)


def build_authenticators(settings: Settings, store: KeyStore) -> list[Authenticator]:
    """The authenticators the ``auth`` setting names, in its order (empty: authentication off).

    Raises:
        InputError: a kind this build cannot authenticate yet.
    """
    made: list[Authenticator] = []
    for kind in dict.fromkeys(settings.auth):
        if kind == "keys":
            made.append(KeyAuthenticator(store))
        else:
            raise InputError(f"auth {kind!r} is not available in this version of mistral-core")
    return made


def check_exposure(settings: Settings) -> None:
    """Refuse to serve the network with authentication off; warn when secrets would cross it in clear.

    Raises:
        InputError: authentication is off, ``host`` is not a loopback address, and
            ``insecure_no_auth`` is not set.
    """
    if not settings.auth:
        if is_loopback(settings.host, resolve=True):
            return
        if not settings.insecure_no_auth:
            raise InputError(
                f"refusing to listen on {settings.host!r} with authentication off (anyone who reaches "
                "the port could do everything): turn it on (--auth keys, keys made by "
                "'mistral-core keys create'), listen on 127.0.0.1, or pass --insecure-no-auth"
            )
        LOG.warning(
            "authentication is off on %s (insecure_no_auth): anyone who reaches it may do everything",
            settings.host,
        )
        return
    public = urlsplit(settings.base_url)
    if public.scheme != "https" and not is_loopback(public.hostname or "", resolve=False):
        LOG.warning(
            "public_url %s is not https: API keys and tokens would cross the network in clear "
            "(put a TLS proxy in front and set public_url to its https:// address)",
            settings.base_url,
        )


def is_loopback(host: str, resolve: bool) -> bool:
    """Whether ``host`` is only ever this machine: ``localhost``, a loopback address, or (with
    ``resolve``) a name whose every address is a loopback one. Empty (every interface): no."""
    name = host.strip().strip("[]")
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        pass
    if not resolve or not name:
        return False
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, None)}
    except OSError:
        return False
    return bool(addresses) and all(_loopback_address(address) for address in addresses)


def _loopback_address(address: object) -> bool:
    try:
        return ipaddress.ip_address(str(address).split("%", 1)[0]).is_loopback
    except ValueError:
        return False
