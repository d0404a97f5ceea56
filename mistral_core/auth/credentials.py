"""Secrets: how they are made, told apart and stored.

A secret is 32 random bytes from :func:`secrets.token_urlsafe` (256 bits, 43 characters)
behind a prefix that says its kind without a database look-up: ``mck_`` for API keys,
``mcb_`` for the callback tokens of async action executions. OIDC tokens are JWTs (three
dot-separated parts) and carry no prefix of ours.

Only :func:`digest` of a secret is stored: its SHA-256. A password needs a slow, salted hash
(bcrypt, scrypt, argon2) because people choose guessable ones, and a fast hash lets a thief of
the database try billions of guesses a second. These secrets are not chosen by people: with 256
bits of entropy there is nothing to guess, and a preimage of SHA-256 is out of reach, so the
stolen hashes are useless and salt and slowness add nothing. A fast, unsalted hash is what makes
the secret findable by an index look-up of its hash on every request, at a cost of about a
microsecond. Comparing by index leaks nothing useful through timing: a caller controls the
secret, not its hash.
"""

from __future__ import annotations

import hashlib
import secrets

#: The prefix of an API key's secret.
KEY_PREFIX = "mck_"
#: The prefix of a callback token (one async action execution's credential).
CALLBACK_PREFIX = "mcb_"
#: Random bytes in a secret (256 bits; the issue asks for at least 128).
SECRET_BYTES = 32


def mint(prefix: str) -> str:
    """A new secret: ``prefix`` and 32 random bytes, URL-safe base64 (43 characters)."""
    return prefix + secrets.token_urlsafe(SECRET_BYTES)


def digest(secret: str) -> str:
    """What is stored of ``secret``: its SHA-256, in hex (64 characters)."""
    return hashlib.sha256(secret.encode()).hexdigest()
