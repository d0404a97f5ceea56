"""Step 4: ``api_keys``, the keys clients authenticate with (their secrets' SHA-256 only).

Names are unique; a key is found by the hash of the secret a request presents (unique too).
Revoking a key sets ``revoked_at`` and bumps the ``keys`` counter of step 3, which every server
checks to drop what it cached. Frozen: see the package docstring.
"""

from __future__ import annotations

import peewee

from mistral_core.persistence.migrations.context import MigrationContext

VERSION = 5
DESCRIPTION = "api_keys: the API keys (name, role, project, the hash of the secret, revocation)"


def apply(ctx: MigrationContext) -> None:
    """Create ``api_keys`` with its unique name and secret hash."""
    fields: dict[str, peewee.Field] = {"seq": peewee.BigAutoField(), "id": ctx.text(unique=True)}
    for name in ("name", "role", "secret_hash", "project_id"):
        fields[name] = ctx.text(null=True)
    for name in ("revoked_at", "last_used_at"):
        fields[name] = peewee.DateTimeField(null=True)
    fields["created_at"] = peewee.DateTimeField()
    fields["updated_at"] = peewee.DateTimeField(null=True)
    ctx.create_table(
        "api_keys",
        fields,
        ((("name",), True), (("secret_hash",), True), (("created_at", "id"), False)),
    )
