"""Seed 000's routing table, each rule through a signed webhook to a team number no inbox has
(the Org number): unknown number, a contact with no matter, only archived ones, exactly one
active, several (the most recently active), a number of several contacts (the newest contact's),
an item filed out of the Mailroom never going back;
and 30-day threads. Each text says why it
landed where it did (`routed`), as the thread shows it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import update
from sqlmodel import col

from inbox.models import Conversation, Message, PhoneNumber
from tests.conftest import Running, running
from tests.fake_twilio import FakeTwilio
from tests.helpers import FRONT_DESK, login, open_store

ORG = "+15005550008"  # a team number no inbox has: its texts are routed
FRONT_DESK_ID = 1


async def add_org_number(server: Running) -> None:
    """Provisioning is another issue's REST; the row it would write is written directly."""
    async with open_store(server.settings.database_url) as db, db.write() as session:
        session.add(PhoneNumber(team_id=1, number=ORG, label="org"))


async def contact(client: httpx.AsyncClient, name: str, *numbers: str) -> int:
    made = await client.post("/api/v1/contacts", json={"name": name, "numbers": list(numbers)})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


async def matter(client: httpx.AsyncClient, name: str, client_id: int, **more: Any) -> int:
    made = await client.post("/api/v1/matters", json={"name": name, "client_id": client_id, **more})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


async def text(server: Running, from_: str, body: str, to: str = ORG) -> None:
    assert (await server.twilio.inbound(to, from_, body)).status_code == 200


async def landed(alice: httpx.AsyncClient, from_: str, body: str) -> dict[str, Any]:
    """Where the text from `from_` with `body` is: its conversation (with the inbox's
    `mailroom` flag) and the message, as the API shows them to an admin."""
    inboxes = {i["id"]: i for i in (await alice.get("/api/v1/inboxes")).json()["items"]}
    for inbox_id, inbox in inboxes.items():
        page = (await alice.get(f"/api/v1/inboxes/{inbox_id}/conversations")).json()["items"]
        for c in page:
            if c["counterparty"] != from_:
                continue
            history = (await alice.get(f"/api/v1/conversations/{c['id']}/messages")).json()
            for m in history["items"]:
                if m["body"] == body:
                    return {"conversation": c, "message": m, "mailroom": inbox["mailroom"]}
    raise AssertionError(f"no text {body!r} from {from_}")


async def test_a_text_from_an_unknown_number_goes_to_the_mailroom(app_server: Running) -> None:
    await add_org_number(app_server)
    alice = await login(app_server.url, "alice")
    await text(app_server, "+15557770001", "who is this?")
    found = await landed(alice, "+15557770001", "who is this?")
    assert found["mailroom"] and found["conversation"]["matter"] is None
    assert found["message"]["routed"] == "unknown_number"


async def test_a_text_from_a_contact_with_no_matter_goes_to_the_mailroom(
    app_server: Running,
) -> None:
    await add_org_number(app_server)
    alice = await login(app_server.url, "alice")
    await contact(alice, "Ann Lee", "+15557770002")
    await text(app_server, "+15557770002", "hello")
    found = await landed(alice, "+15557770002", "hello")
    assert found["mailroom"] and found["conversation"]["matter"] is None
    assert found["message"]["routed"] == "no_active_matter"


async def test_a_text_from_a_contact_with_only_archived_matters_goes_to_the_mailroom(
    app_server: Running,
) -> None:
    await add_org_number(app_server)
    alice = await login(app_server.url, "alice")
    ann = await contact(alice, "Ann Lee", "+15557770003")
    await matter(alice, "Lee estate", ann, status="archived")
    await text(app_server, "+15557770003", "is it done?")
    found = await landed(alice, "+15557770003", "is it done?")
    assert found["mailroom"] and found["conversation"]["matter"] is None
    assert found["message"]["routed"] == "no_active_matter"


async def test_a_text_from_a_client_with_one_active_matter_goes_to_that_matters_conversation(
    app_server: Running,
) -> None:
    await add_org_number(app_server)
    alice, bob = await login(app_server.url, "alice"), await login(app_server.url, "bob")
    ann = await contact(alice, "Ann Lee", "+15557770004")
    await matter(alice, "Old lease", ann, status="archived")
    lease = await matter(bob, "Lee lease", ann, inbox_id=FRONT_DESK_ID)
    await text(app_server, "+15557770004", "about the lease")
    found = await landed(alice, "+15557770004", "about the lease")
    assert not found["mailroom"] and found["conversation"]["inbox_id"] == FRONT_DESK_ID
    assert found["conversation"]["matter"] == {"id": lease, "name": "Lee lease"}
    assert found["message"]["routed"] == "matter"
    # The next joins the same conversation, which bob (a Front Desk member) sees on the
    # matter's page.
    await text(app_server, "+15557770004", "and the deposit")
    again = await landed(alice, "+15557770004", "and the deposit")
    assert again["conversation"]["id"] == found["conversation"]["id"]
    page = (await bob.get(f"/api/v1/matters/{lease}")).json()
    assert [c["id"] for c in page["conversations"]] == [found["conversation"]["id"]]


async def test_a_text_from_a_client_with_several_active_matters_goes_to_the_most_recently_active(
    app_server: Running,
) -> None:
    await add_org_number(app_server)
    alice = await login(app_server.url, "alice")
    ann = await contact(alice, "Ann Lee", "+15557770005", "+15557770006", "+15557770007")
    lease = await matter(alice, "Lee lease", ann)
    will = await matter(alice, "Lee will", ann)  # the newer matter, but not the more active
    started = await alice.post(
        "/api/v1/conversations",
        json={"inbox_id": FRONT_DESK_ID, "to": "+15557770006", "matter_id": lease},
    )
    assert started.status_code == 201 and started.json()["matter"]["id"] == lease
    await text(app_server, "+15557770006", "lease question", to=FRONT_DESK)
    await text(app_server, "+15557770005", "one more thing")
    found = await landed(alice, "+15557770005", "one more thing")
    assert found["conversation"]["matter"] == {"id": lease, "name": "Lee lease"}
    assert found["message"]["routed"] == "matter_latest"

    # The will becomes the more active: the next text goes there (re-filing the Mailroom's
    # conversation with that number: one conversation per inbox and number).
    await alice.post(
        "/api/v1/conversations",
        json={"inbox_id": FRONT_DESK_ID, "to": "+15557770007", "matter_id": will},
    )
    await text(app_server, "+15557770007", "will question", to=FRONT_DESK)
    await text(app_server, "+15557770005", "about the will")
    moved = await landed(alice, "+15557770005", "about the will")
    assert moved["conversation"]["matter"] == {"id": will, "name": "Lee will"}
    assert moved["message"]["routed"] == "matter_latest"


async def test_a_text_from_a_number_of_two_clients_goes_to_the_newest_contacts_matter(
    app_server: Running,
) -> None:
    await add_org_number(app_server)
    alice = await login(app_server.url, "alice")
    shared = "+15557770010"  # the Lees' landline
    ann = await contact(alice, "Ann Lee", shared)
    ben = await contact(alice, "Ben Lee", shared)  # the newer contact
    divorce = await matter(alice, "Ben's divorce", ben, inbox_id=FRONT_DESK_ID)
    await matter(alice, "Ann's estate", ann)  # the newer matter: the contact's age decides
    await text(app_server, shared, "it's Ben, about the papers")
    found = await landed(alice, shared, "it's Ben, about the papers")
    assert found["conversation"]["inbox_id"] == FRONT_DESK_ID
    assert found["conversation"]["matter"] == {"id": divorce, "name": "Ben's divorce"}
    assert found["conversation"]["contact"] == {"id": ben, "name": "Ben Lee"}
    assert found["message"]["routed"] == "matter"


async def test_a_conversation_filed_out_of_the_mailroom_never_goes_back(
    app_server: Running,
) -> None:
    await add_org_number(app_server)
    alice = await login(app_server.url, "alice")
    ann = await contact(alice, "Ann Lee", "+15557770010")
    await text(app_server, "+15557770011", "a stranger writes")
    first = await landed(alice, "+15557770011", "a stranger writes")
    assert first["mailroom"]
    conversation_id = first["conversation"]["id"]
    case = await matter(alice, "Lee case", ann)
    other = await matter(alice, "Lee appeal", ann)
    filed = await alice.put(
        f"/api/v1/conversations/{conversation_id}/matter", json={"matter_id": case}
    )
    assert filed.status_code == 200 and filed.json()["matter"]["id"] == case
    back = await alice.put(
        f"/api/v1/conversations/{conversation_id}/matter", json={"matter_id": None}
    )
    assert back.status_code == 409 and back.json()["error"]["code"] == "filed"

    # The stranger is no contact (routing alone would say Mailroom), and the matter archived:
    # the text stays with the matter.
    assert (await alice.patch(f"/api/v1/matters/{case}", json={"status": "archived"})).is_success
    await text(app_server, "+15557770011", "still me")
    later = await landed(alice, "+15557770011", "still me")
    assert later["conversation"]["id"] == conversation_id
    assert later["conversation"]["matter"] == {"id": case, "name": "Lee case"}
    assert later["message"]["routed"] == "filed"
    # Moving between matters is allowed.
    refiled = await alice.put(
        f"/api/v1/conversations/{conversation_id}/matter", json={"matter_id": other}
    )
    assert refiled.json()["matter"] == {"id": other, "name": "Lee appeal"}


async def backdate(server: Running, conversation_id: int, ago: timedelta) -> None:
    """The conversation's texts happened `ago` (the store written directly: no clock waits)."""
    at = datetime.now(UTC) - ago
    async with open_store(server.settings.database_url) as db, db.write() as session:
        await session.execute(
            update(Conversation)
            .where(col(Conversation.id) == conversation_id)
            .values(last_message_at=at, last_inbound_at=at)
        )
        await session.execute(
            update(Message)
            .where(col(Message.conversation_id) == conversation_id)
            .values(created_at=at)
        )


async def test_a_text_after_30_quiet_days_starts_a_new_thread(app_server: Running) -> None:
    await add_org_number(app_server)
    alice = await login(app_server.url, "alice")
    ann = await contact(alice, "Ann Lee", "+15557770012")
    await matter(alice, "Lee lease", ann)
    await text(app_server, "+15557770012", "first")
    first = await landed(alice, "+15557770012", "first")
    assert first["message"]["starts_thread"] is False
    conversation_id = first["conversation"]["id"]
    await backdate(app_server, conversation_id, timedelta(days=29))
    await text(app_server, "+15557770012", "within the month")
    joined = await landed(alice, "+15557770012", "within the month")
    assert joined["message"]["starts_thread"] is False
    await backdate(app_server, conversation_id, timedelta(days=31))
    await text(app_server, "+15557770012", "months later")
    new = await landed(alice, "+15557770012", "months later")
    assert new["conversation"]["id"] == conversation_id  # a thread is inside the conversation
    assert new["message"]["starts_thread"] is True
    await text(app_server, "+15557770012", "right after")
    assert (await landed(alice, "+15557770012", "right after"))["message"]["starts_thread"] is False


async def test_the_thread_gap_is_a_setting(
    tmp_path: Path,
    database_url: str,
    clean_redis: str,
    fake_twilio: tuple[FakeTwilio, str],
) -> None:
    with running(
        tmp_path / "data", clean_redis, fake_twilio, database_url=database_url, thread_days=1.0
    ) as server:
        alice = await login(server.url, "alice")
        await text(server, "+15557770013", "first", to=FRONT_DESK)
        first = await landed(alice, "+15557770013", "first")
        assert first["message"]["routed"] == "inbox"  # texted to the inbox's own number
        await backdate(server, first["conversation"]["id"], timedelta(hours=20))
        await text(server, "+15557770013", "same day", to=FRONT_DESK)
        assert (await landed(alice, "+15557770013", "same day"))["message"][
            "starts_thread"
        ] is False
        await backdate(server, first["conversation"]["id"], timedelta(days=2))
        await text(server, "+15557770013", "two days on", to=FRONT_DESK)
        assert (await landed(alice, "+15557770013", "two days on"))["message"]["starts_thread"]


async def test_a_routed_text_twilio_sends_twice_is_stored_once(app_server: Running) -> None:
    await add_org_number(app_server)
    alice = await login(app_server.url, "alice")
    ann = await contact(alice, "Ann Lee", "+15557770014")
    await matter(alice, "Lee lease", ann, inbox_id=FRONT_DESK_ID)
    for _ in range(2):
        answer = await app_server.twilio.inbound(ORG, "+15557770014", "once", sid="SM" + "7" * 32)
        assert answer.status_code == 200
    found = await landed(alice, "+15557770014", "once")
    history = await alice.get(f"/api/v1/conversations/{found['conversation']['id']}/messages")
    assert [m["body"] for m in history.json()["items"]] == ["once"]
    assert found["message"]["routed"] == "matter"
