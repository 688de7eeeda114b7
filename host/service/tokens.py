"""Service access tokens: random, shown once, stored only as their SHA-256.

A token reads ``ropuf_<id>_<secret>``: ``id`` (8 hex digits) names it in listings and for
revoking, ``secret`` is 32 random bytes (URL-safe base64). The registry keeps the SHA-256 of
the whole token, never the token: a copy of the database grants no access. A token with 256
random bits needs no slow password hash; it is found by its hash (an index look-up, so the
time taken depends on the hash, never on how much of a guessed token is right).

Each token belongs to one owner (an Ed25519 public key, hex: the key that signs enrollment
records) and reaches only that owner's devices. Scopes: ``attest`` (challenges and
attestations) and ``manage`` (list, import, revoke, transfer). An *owner* token has both; an
*application* token (for applications and gateways) has ``attest`` only.
"""

import hashlib
import re
import secrets
import time
from dataclasses import dataclass

from ropuf.host.registry import Registry, StoredToken
from ropuf.spec.errors import InputError

__all__ = [
    "KINDS",
    "SCOPE_ATTEST",
    "SCOPE_MANAGE",
    "TOKEN_PREFIX",
    "Principal",
    "authenticate",
    "create_token",
    "hash_token",
]

TOKEN_PREFIX = "ropuf_"
SCOPE_ATTEST = "attest"
SCOPE_MANAGE = "manage"
#: Token kind -> its scopes.
KINDS: dict[str, tuple[str, ...]] = {
    "owner": (SCOPE_MANAGE, SCOPE_ATTEST),
    "application": (SCOPE_ATTEST,),
}
_SECRET_BYTES = 32
_SHAPE = re.compile(r"ropuf_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")


@dataclass(frozen=True)
class Principal:
    """Who a request speaks for: the owner whose devices it reaches and its scopes."""

    token_id: str
    owner: str
    scopes: tuple[str, ...]


def hash_token(token: str) -> str:
    """The stored form of *token*: SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(registry: Registry, owner: str, kind: str, label: str = "") -> tuple[str, str]:
    """A new token of *kind* (``owner`` or ``application``) for *owner* (public key, hex),
    stored by its hash; returns ``(token_id, token)``. The token is in no file: show it once.

    Raises
    ------
    InputError
        An unknown kind.
    RegistryError
        *owner* is not 64 hex digits.
    """
    if kind not in KINDS:
        raise InputError(f"a token kind is one of {', '.join(KINDS)}, not {kind!r}")
    token_id = secrets.token_hex(4)
    token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(_SECRET_BYTES)}"
    stored = StoredToken(token_id, owner.lower(), KINDS[kind], label, time.time(), None)
    registry.add_token(hash_token(token), stored)
    return token_id, token


def authenticate(registry: Registry, token: str) -> Principal | None:
    """The principal of *token*; None if it is malformed, unknown or revoked."""
    if not _SHAPE.fullmatch(token):
        return None
    stored = registry.token(hash_token(token))
    if stored is None or stored.revoked_at is not None:
        return None
    return Principal(stored.token_id, stored.owner, stored.scopes)
