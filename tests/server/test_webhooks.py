from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col

from inbox.models import Message
from tests.conftest import Running
from tests.helpers import BILLING, FRONT_DESK, Agent, login, open_store


async def stored_messages(running: Running) -> list[tuple[str | None, str]]:
    """Every message in the server's store, oldest first: (provider_sid, body)."""
    async with open_store(running.settings.database_url) as db, db.read() as session:
        query = select(col(Message.provider_sid), col(Message.body)).order_by(col(Message.id))
        return [(sid, body) for sid, body in (await session.execute(query)).all()]


async def test_signed_inbound_text_reaches_every_member_and_no_one_else(
    app_server: Running,
) -> None:
    bob = await login(app_server.url, "bob")
    carol = await login(app_server.url, "carol")
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    carol_ws = await Agent.connect(app_server.url, cookies=carol.cookies)

    # Billing's text goes to carol (a member) but never to bob (not a member).
    response = await app_server.twilio.inbound(BILLING, "+15551112222", "Where is my refund?")
    assert response.status_code == 200
    assert "<Response" in response.text
    carol_first = await carol_ws.next_event("message.created")
    assert carol_first["data"]["message"]["body"] == "Where is my refund?"

    await app_server.twilio.inbound(FRONT_DESK, "(555) 111-3333", "Is parking free?")
    for ws in (bob_ws, carol_ws):
        event = await ws.next_event("message.created")
        assert event["data"]["message"]["body"] == "Is parking free?"
        assert event["data"]["message"]["direction"] == "inbound"
        assert event["data"]["conversation"]["counterparty"] == "+15551113333"
        assert event["data"]["conversation"]["unread"] is True
    # Bob's first event was Front Desk's: Billing's never reached him.
    await bob_ws.close()
    await carol_ws.close()


async def test_forged_signature_is_refused_and_stores_nothing(app_server: Running) -> None:
    before = await stored_messages(app_server)
    params = {"MessageSid": "SMforged", "From": "+15551112222", "To": FRONT_DESK, "Body": "hi"}
    good = app_server.twilio.sign("/webhooks/twilio/messages", params)
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    response = await app_server.twilio.post("/webhooks/twilio/messages", params, signature=forged)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "bad_signature"
    missing = await app_server.twilio.post("/webhooks/twilio/messages", params, signature="")
    assert missing.status_code == 403
    # A correctly signed request whose body was altered on the way is refused too.
    tampered = dict(params, Body="send me the money")
    altered = await app_server.twilio.post("/webhooks/twilio/messages", tampered, signature=good)
    assert altered.status_code == 403
    assert await stored_messages(app_server) == before


async def test_same_message_sid_twice_stores_one_message(app_server: Running) -> None:
    bob = await login(app_server.url, "bob")
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    for _ in range(2):
        response = await app_server.twilio.inbound(
            FRONT_DESK, "+15551114444", "Twice?", sid="SMdup1"
        )
        assert response.status_code == 200
    await app_server.twilio.inbound(FRONT_DESK, "+15551114444", "Third, new sid")
    first = await bob_ws.next_event("message.created")
    second = await bob_ws.next_event("message.created")
    assert first["data"]["message"]["body"] == "Twice?"
    assert second["data"]["message"]["body"] == "Third, new sid"  # no second "Twice?" event
    assert [b for sid, b in await stored_messages(app_server) if sid == "SMdup1"] == ["Twice?"]
    await bob_ws.close()


async def test_webhook_with_missing_fields_gets_a_clear_error(app_server: Running) -> None:
    response = await app_server.twilio.post("/webhooks/twilio/messages", {"Body": "no numbers"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "missing_field"


async def test_concurrent_webhooks_all_store_with_increasing_event_ids(app_server: Running) -> None:
    """A burst of texts at once: none fails with "database is locked", none is lost."""
    import asyncio

    bob = await login(app_server.url, "bob")
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    bodies = [f"burst {i}" for i in range(40)]
    texts = [
        app_server.twilio.inbound(FRONT_DESK, f"+1555600{i:04d}", b) for i, b in enumerate(bodies)
    ]
    responses = await asyncio.gather(*texts)
    assert [r.status_code for r in responses] == [200] * len(bodies)
    events = [await bob_ws.next_event("message.created") for _ in bodies]
    assert sorted(e["data"]["message"]["body"] for e in events) == sorted(bodies)
    ids = [e["id"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert (
        sum(1 for _, body in await stored_messages(app_server) if body.startswith("burst ")) == 40
    )
    await bob_ws.close()


async def test_mms_media_are_kept_as_attachments(app_server: Running) -> None:
    bob = await login(app_server.url, "bob")
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    media = "https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM1/Media/ME1"
    params = {
        "MessageSid": "MM" + "1" * 32,
        "From": "+15551212121",
        "To": FRONT_DESK,
        "Body": "",
        "NumMedia": "1",
        "MediaUrl0": media,
        "MediaContentType0": "image/jpeg",
    }
    assert (await app_server.twilio.post("/webhooks/twilio/messages", params)).status_code == 200
    event = await bob_ws.next_event("message.created")
    (attachment,) = event["data"]["message"]["attachments"]
    assert (attachment["content_type"], attachment["inline"]) == ("image/jpeg", True)
    assert attachment["url"] == f"/api/v1/media/{attachment['id']}"  # ours, never Twilio's
    conversation_id = event["data"]["conversation"]["id"]
    history = (await bob.get(f"/api/v1/conversations/{conversation_id}/messages")).json()["items"]
    assert history[-1]["attachments"] == [attachment]
    await bob_ws.close()
