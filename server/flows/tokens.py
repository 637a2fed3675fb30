"""API tokens an admin makes for a person or a bot (DESIGN.md, "Admin"): the token is shown
once (only its hash is kept); revoking it closes the sockets opened with it on every process.
Each change has its audit entry (never the token itself)."""

from __future__ import annotations

from datetime import datetime

from inbox import accounts, audit
from inbox.errors import ConflictError
from inbox.models import Token, User
from inbox.views import iso
from server.flows.sessions import token_credential
from server.services import Services


async def create_token(
    svc: Services, actor: User, user_id: int, name: str, expires_at: datetime | None
) -> tuple[Token, User, str]:
    async with svc.db.write() as session:
        user = await accounts.team_user(session, actor.team_id, user_id)
        if user.disabled_at is not None:
            raise ConflictError(f"{user.name} is disabled: enable them first", "disabled")
        assert user.id is not None
        row, secret = await accounts.new_token(session, user.id, name, expires_at)
        after = {"user_id": user.id, "name": name, "expires_at": iso(expires_at)}
        await audit.record(
            session, user.team_id, actor, "token.created", ("token", row.id), None, after
        )
    return row, user, secret


async def revoke_token(svc: Services, actor: User, token_id: int) -> None:
    async with svc.db.write() as session:
        row, user = await accounts.revoke_token(session, actor.team_id, token_id)
        before = {"user_id": row.user_id, "name": row.label, "expires_at": iso(row.expires_at)}
        await audit.record(session, user.team_id, actor, "token.revoked", ("token", row.id), before)
    assert user.id is not None
    await svc.sockets.close(user.id, token_credential(row.token_hash))
