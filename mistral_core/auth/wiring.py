"""Turning authentication on: the ``auth`` setting made into authenticators, and the checks of a
server's exposure that make it safe by default.

* :func:`build_authenticators`: ``auth = ["keys"]`` (``serve --auth keys``,
  ``MISTRAL_CORE_AUTH=keys``) gives a :class:`~mistral_core.auth.keys.KeyAuthenticator`,
  ``oidc`` an :class:`~mistral_core.auth.oidc.OIDCAuthenticator`; whenever authentication is on,
  the callback tokens of async action executions are accepted too
  (:class:`~mistral_core.auth.callbacks.CallbackAuthenticator`); empty gives none
  (authentication off: tokens are still minted and sent, and the API ignores them).
* :func:`build_sign_in`: with ``oidc_ui_client_id`` set, the UI's sign-in through the provider
  (:class:`~mistral_core.auth.oidc_login.SignInFlow`), checking tokens with the API's own OIDC
  authenticator (one discovery document, one key cache, one mapping of claims).
* :func:`check_exposure`: with authentication off, a server listens on loopback only unless told
  ``insecure_no_auth``; with it on, a public URL that is not https is warned about (secrets
  would cross the network in clear).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Sequence
from typing import Protocol
from urllib.parse import urlsplit

from mistral_core.auth.callbacks import CallbackAuthenticator, Clock, TokenLookup
from mistral_core.auth.identity import Authenticator
from mistral_core.auth.keys import KeyAuthenticator
from mistral_core.auth.oidc_login import LoginClient, SignInFlow
from mistral_core.auth.ports import KeyStore
from mistral_core.config import Settings
from mistral_core.errors import InputError

LOG = logging.getLogger(__name__)


class AuthStore(KeyStore, TokenLookup, Protocol):
    """What the authenticators read: API keys, and action executions by their callback token."""


def build_authenticators(
    settings: Settings, store: AuthStore, clock: Clock | None = None
) -> list[Authenticator]:
    """The authenticators the ``auth`` setting names, in its order, then the callback tokens'
    (empty: authentication off).

    Raises:
        InputError: a kind this build cannot authenticate yet.
    """
    made: list[Authenticator] = []
    for kind in dict.fromkeys(settings.auth):
        if kind == "keys":
            made.append(KeyAuthenticator(store))
        elif kind == "oidc":
            made.append(_oidc_authenticator(settings))
        else:
            raise InputError(f"auth {kind!r} is not available in this version of mistral-core")
    if made:
        made.append(CallbackAuthenticator(store, clock))
    return made


def _oidc_authenticator(settings: Settings) -> Authenticator:
    """The OIDC authenticator (PyJWT is the extra ``mistral-core[oidc]``: imported only when asked for).

    Raises:
        InputError: PyJWT is missing, or an ``oidc_*`` setting is (see
            :meth:`~mistral_core.auth.oidc.OIDCConfig.from_settings`).
    """
    try:
        from mistral_core.auth.oidc import OIDCAuthenticator
    except ImportError:
        raise InputError("auth oidc needs PyJWT: pip install 'mistral-core[oidc]'") from None
    return OIDCAuthenticator.from_settings(settings)


def build_sign_in(settings: Settings, authenticators: Sequence[Authenticator]) -> SignInFlow | None:
    """The UI's sign-in through the OIDC provider (None: ``oidc_ui_client_id`` is not set).

    Raises:
        InputError: a bad ``oidc_ui_*`` setting, or no OIDC authenticator among ``authenticators``.
    """
    client = LoginClient.from_settings(settings)
    if client is None:
        return None
    from mistral_core.auth.oidc import OIDCAuthenticator  # PyJWT: there, since auth has oidc

    checker = next((a for a in authenticators if isinstance(a, OIDCAuthenticator)), None)
    if checker is None:
        raise InputError("setting oidc_ui_client_id needs oidc in the setting auth")
    return SignInFlow(client, checker)


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
