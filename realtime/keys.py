"""The Redis names the bus uses, one function per kind (STYLE.md section 2). They carry the
deployment's name under the `sb:<deployment>:` prefix that presence/keys.py uses too, so
deployments sharing one Redis server never hear each other's doorbells (pub/sub channels ignore
the database number)."""

from __future__ import annotations


def events_channel(deployment: str) -> str:
    """The pub/sub channel every process of the deployment rings after committing events."""
    return f"sb:{deployment}:events"
