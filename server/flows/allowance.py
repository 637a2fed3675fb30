"""The admin's setting of the team's outgoing allowance (inbox/allowance.py): the change, its
audit entry and `team.allowance` to the admins in one transaction."""

from __future__ import annotations

from typing import Any

from inbox import allowance, audit
from inbox.models import User
from server.flows.events import append_allowance
from server.services import Services


async def counter(svc: Services, team_id: int) -> dict[str, Any]:
    async with svc.db.read() as session:
        return await allowance.view(session, team_id, svc.settings.clock())


async def set_allowance(svc: Services, actor: User, limit: Any, when_out: Any) -> dict[str, Any]:
    async with svc.db.write() as session:
        now = svc.settings.clock()
        before, after = await allowance.set_allowance(session, actor.team_id, limit, when_out, now)
        await audit.record(
            session, actor.team_id, actor, "team.allowance", ("team", actor.team_id),
            *audit.diff(before, after),
        )  # fmt: skip
        events = await append_allowance(session, actor.team_id, now, changed=True)
        view = await allowance.view(session, actor.team_id, now)
    await svc.announce(*events)
    return view
