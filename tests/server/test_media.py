"""Pictures (MMS) over REST and the webhooks, through the real `twilio` library against the
fake Twilio: a received picture fetched with the account's credentials on first view and
served to the inbox's members only; an upload checked against Twilio's limits, sent with a
signed, expiring MediaUrl that Twilio (no session) can fetch and nobody can forge."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from server.flows.media import MEDIA_URL_SALT
from tests.conftest import Running
from tests.fake_twilio import reject, take_then_fail
from tests.faults.outbox_parts import texts_to, wait_settled
from tests.helpers import BILLING, FRONT_DESK, Agent, login, png
from tests.server.test_sending import conversation_with

PICTURE = png()


async def receive(
    running: Running, to: str, urls: list[str], types: list[str], from_: str = "+15551212121"
) -> None:
    """An MMS as Twilio's webhook announces it (NumMedia, MediaUrlN, MediaContentTypeN)."""
    params = {
        "MessageSid": "MM" + uuid.uuid4().hex,
        "AccountSid": running.fake.account_sid,
        "From": from_,
        "To": to,
        "Body": "see attached",
        "NumMedia": str(len(urls)),
    }
    for i, (url, kind) in enumerate(zip(urls, types, strict=True)):
        params[f"MediaUrl{i}"], params[f"MediaContentType{i}"] = url, kind
    response = await running.twilio.post("/webhooks/twilio/messages", params)
    assert response.status_code == 200, response.text


async def upload(
    client: httpx.AsyncClient, data: bytes, name: str = "photo.png", kind: str = "image/png"
) -> httpx.Response:
    return await client.post("/api/v1/media", files={"file": (name, data, kind)})


def fetches_of(running: Running) -> int:
    return len(running.fake.requests_to("GET", "/Media/"))


async def test_a_received_picture_is_fetched_once_with_the_accounts_credentials_for_members_only(
    app_server: Running,
) -> None:
    carol = await login(app_server.url, "carol")  # a member of Billing
    bob = await login(app_server.url, "bob")  # not a member of Billing
    carol_ws = await Agent.connect(app_server.url, cookies=carol.cookies)
    url = app_server.fake.add_media(PICTURE, "image/png")
    await receive(app_server, BILLING, [url], ["image/png"])

    event = await carol_ws.next_event("message.created")
    (shown,) = event["data"]["message"]["attachments"]
    assert (shown["content_type"], shown["inline"], shown["gone"]) == ("image/png", True, False)
    assert fetches_of(app_server) == 0  # fetched when first viewed, not before

    first = await carol.get(shown["url"])
    assert first.status_code == 200, first.text
    assert first.content == PICTURE
    assert first.headers["content-type"] == "image/png"
    assert first.headers["content-disposition"].startswith("inline;")
    assert first.headers["x-content-type-options"] == "nosniff"
    # Basic auth at Twilio's URL (the fake refuses without), then the file where it redirected.
    assert fetches_of(app_server) == 1 and app_server.fake.media_fetches == 1

    again = await carol.get(shown["url"])
    assert again.content == PICTURE
    assert fetches_of(app_server) == 1  # kept in the data dir: Twilio is not asked again

    outsider = await bob.get(shown["url"])
    assert outsider.status_code == 404
    async with httpx.AsyncClient(base_url=app_server.url) as anonymous:
        assert (await anonymous.get(shown["url"])).status_code == 401
    conversation_id = event["data"]["conversation"]["id"]
    history = await carol.get(f"/api/v1/conversations/{conversation_id}/messages")
    (latest,) = history.json()["items"][-1]["attachments"]
    assert latest["size"] == len(PICTURE)
    await carol_ws.close()


async def test_a_picture_twilio_no_longer_has_is_said_gone_and_not_asked_for_again(
    app_server: Running,
) -> None:
    bob = await login(app_server.url, "bob")
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    deleted = app_server.fake.add_media(PICTURE, "image/jpeg")
    app_server.fake.media.clear()  # deleted at Twilio since
    await receive(app_server, FRONT_DESK, [deleted], ["image/jpeg"])
    (shown,) = (await bob_ws.next_event("message.created"))["data"]["message"]["attachments"]

    gone = await bob.get(shown["url"])
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "media_gone"
    assert (await bob.get(shown["url"])).status_code == 404
    assert fetches_of(app_server) == 1
    history = await bob.get(f"/api/v1/conversations/{shown_conversation(bob_ws)}/messages")
    assert history.json()["items"][-1]["attachments"][0]["gone"] is True
    await bob_ws.close()


def shown_conversation(ws: Agent) -> int:
    created = [f for f in ws.received if f.get("type") == "message.created"]
    return int(created[-1]["data"]["conversation"]["id"])


async def test_twilio_failing_to_hand_over_a_picture_is_said_plainly_and_asked_again_later(
    app_server: Running,
) -> None:
    bob = await login(app_server.url, "bob")
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    url = app_server.fake.add_media(PICTURE, "image/png")
    await receive(app_server, FRONT_DESK, [url], ["image/png"])
    (shown,) = (await bob_ws.next_event("message.created"))["data"]["message"]["attachments"]

    app_server.fake.fail("GET", "/Media/", status=503, code=20503, message="Service Unavailable")
    failed = await bob.get(shown["url"])
    assert failed.status_code == 503
    assert failed.json()["error"]["code"] == "media_unavailable"
    later = await bob.get(shown["url"])
    assert later.status_code == 200 and later.content == PICTURE
    await bob_ws.close()


async def test_a_received_file_that_is_really_a_web_page_is_never_shown_in_a_page(
    app_server: Running,
) -> None:
    bob = await login(app_server.url, "bob")
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    page = b"<html><script>fetch('/api/v1/me')</script></html>"
    lying = app_server.fake.add_media(page, "image/svg+xml")
    await receive(app_server, FRONT_DESK, [lying], ["image/png"])
    (shown,) = (await bob_ws.next_event("message.created"))["data"]["message"]["attachments"]
    served = await bob.get(shown["url"])
    assert served.status_code == 200
    assert served.headers["content-type"] == "application/octet-stream"
    assert served.headers["content-disposition"].startswith("attachment;")
    assert served.headers["x-content-type-options"] == "nosniff"
    history = await bob.get(f"/api/v1/conversations/{shown_conversation(bob_ws)}/messages")
    assert history.json()["items"][-1]["attachments"][0]["inline"] is False
    await bob_ws.close()


async def test_a_picture_sent_goes_to_twilio_as_a_signed_url_that_works_without_a_session(
    app_server: Running,
) -> None:
    bob = await login(app_server.url, "bob")
    carol = await login(app_server.url, "carol")
    carol_ws = await Agent.connect(app_server.url, cookies=carol.cookies)
    conversation_id = await conversation_with(bob, "+15551116666")

    uploaded = await upload(bob, PICTURE, "../../etc/Our menu.png", "text/html")
    assert uploaded.status_code == 201, uploaded.text
    attachment = uploaded.json()
    # The type is sniffed from the bytes; the name is for showing only.
    assert (attachment["content_type"], attachment["filename"]) == ("image/png", "Our menu.png")
    assert (await carol.get(attachment["url"])).status_code == 404  # not sent yet: bob's only

    sent = await bob.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"body": "", "media_ids": [attachment["id"]]},
    )
    assert sent.status_code == 201, sent.text
    assert [a["id"] for a in sent.json()["attachments"]] == [attachment["id"]]
    created = await carol_ws.next_event("message.created")
    assert created["data"]["message"]["attachments"][0]["inline"] is True
    assert (await carol.get(attachment["url"])).content == PICTURE  # a member now

    (twilio_message,) = await asyncio.to_thread(app_server.fake.wait_for_messages, 1)
    (media_url,) = twilio_message["media_urls"]
    assert twilio_message["num_media"] == "1"
    assert media_url.startswith(f"{app_server.url}/media/")
    async with httpx.AsyncClient() as twilio:  # as Twilio fetches it: no cookie, no token
        fetched = await twilio.get(media_url)
        assert fetched.status_code == 200, fetched.text
        assert fetched.content == PICTURE
        assert fetched.headers["content-type"] == "image/png"
        # Twilio names the file after it: inline, 20 characters at most, no spaces.
        assert fetched.headers["content-disposition"].startswith('inline; filename="Our_menu.png"')
        head = await twilio.head(media_url)  # Twilio checks the type with HEAD too
        assert head.status_code == 200 and head.headers["content-type"] == "image/png"
        token = media_url.rsplit("/", 1)[1]
        forged = await twilio.get(media_url[: -len(token)] + token[:-2] + "xx")
        assert forged.status_code == 403
        assert forged.json()["error"]["code"] == "bad_signature"
        expired = await twilio.get(f"{app_server.url}/media/{old_token(app_server, token)}")
        assert expired.status_code == 403
        assert expired.json()["error"]["code"] == "expired"

    again = await bob.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"body": "once more", "media_ids": [attachment["id"]]},
    )
    assert again.status_code == 422
    assert again.json()["error"]["code"] == "invalid_attachment"
    await carol_ws.close()


def old_token(running: Running, token: str) -> str:
    """The same file's token as the server would have signed it a moment past its lifetime."""
    secret = str(running.settings.secret_key)
    key = URLSafeTimedSerializer(secret, salt=MEDIA_URL_SALT).loads(token)
    lifetime = running.settings.media_url_secs

    class Then(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - lifetime - 60)

    return str(URLSafeTimedSerializer(secret, salt=MEDIA_URL_SALT, signer=Then).dumps(key))


async def test_uploads_twilio_would_refuse_are_refused_and_nothing_is_sent(
    app_server: Running,
) -> None:
    bob = await login(app_server.url, "bob")
    carol = await login(app_server.url, "carol")
    conversation_id = await conversation_with(bob, "+15551117777")

    def code(response: httpx.Response) -> tuple[int, str]:
        return response.status_code, response.json()["error"]["code"]

    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    assert code(await upload(bob, svg, "x.svg", "image/svg+xml")) == (422, "unsupported_type")
    html = b"<!doctype html><script>alert(1)</script>"
    assert code(await upload(bob, html, "x.png", "image/png")) == (422, "unsupported_type")
    assert code(await upload(bob, b"", "x.png")) == (422, "empty")
    assert code(await bob.post("/api/v1/media", data={"note": "no file"})) == (422, "invalid")
    torn = await bob.post(
        "/api/v1/media",
        content=b"--x\r\nContent-Disposition: form-data; name=file; filename=a.png\r\n\r\n\x89PNG",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert code(torn) == (422, "invalid")  # a form cut off mid-file: no file, never a 500
    over = PICTURE + b"\0" * (5_000_001 - len(PICTURE))
    assert code(await upload(bob, over)) == (413, "too_large")
    far_over = b"\0" * (6 * 1024 * 1024)  # refused on its Content-Length, before it is read
    assert code(await upload(bob, far_over)) == (413, "too_large")
    # Another route keeps the 1 MiB limit.
    big_json = {"body": "x" * (1024 * 1024)}
    assert code(await bob.post("/api/v1/conversations", json=big_json)) == (413, "too_large")

    async with httpx.AsyncClient(
        base_url=app_server.url, cookies=bob.cookies, headers={"Origin": "https://evil.example"}
    ) as cross_site:
        assert code(await upload(cross_site, PICTURE)) == (403, "bad_origin")

    carols = (await upload(carol, PICTURE)).json()
    big = [(await upload(bob, PICTURE + b"\0" * 2_600_000)).json() for _ in range(2)]

    async def send(data: dict[str, Any]) -> httpx.Response:
        return await bob.post(f"/api/v1/conversations/{conversation_id}/messages", json=data)

    assert code(await send({"media_ids": [carols["id"]]})) == (422, "invalid_attachment")
    assert code(await send({"media_ids": [a["id"] for a in big]})) == (422, "too_large")
    assert code(await send({"media_ids": "1"})) == (422, "invalid")
    assert code(await send({"media_ids": [10**30]})) == (422, "invalid")  # no id is that big
    assert code(await send({"media_ids": list(range(1, 12))})) == (422, "too_many")
    assert code(await send({"body": "", "media_ids": []})) == (422, "empty")
    history = await bob.get(f"/api/v1/conversations/{conversation_id}/messages")
    assert history.json()["items"] == []
    assert app_server.fake.create_calls == 0
    # What was refused is still there to send: the draft's attachments are kept.
    assert (await bob.get(big[0]["url"])).status_code == 200


async def test_a_picture_sent_over_the_socket_is_fenced_like_any_reply(
    app_server: Running,
) -> None:
    bob = await login(app_server.url, "bob")
    carol = await login(app_server.url, "carol")
    conversation_id = await conversation_with(bob, "+15551118888")
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    carol_ws = await Agent.connect(app_server.url, cookies=carol.cookies)
    held = await carol_ws.command("lock.acquire", {"conversation_id": conversation_id})
    assert held["type"] == "ack"
    picture = (await upload(bob, PICTURE)).json()

    data = {"conversation_id": conversation_id, "body": "", "media_ids": [picture["id"]]}
    refused = await bob_ws.command("message.send", data)
    assert refused["type"] == "error" and refused["error"]["code"] == "locked"
    await carol_ws.command("lock.release", {"conversation_id": conversation_id})
    answer = await bob_ws.command("message.send", data)
    assert answer["type"] == "ack", answer
    assert [a["id"] for a in answer["data"]["message"]["attachments"]] == [picture["id"]]
    (twilio_message,) = await asyncio.to_thread(app_server.fake.wait_for_messages, 1)
    assert len(twilio_message["media_urls"]) == 1 and twilio_message["body"] == ""
    await bob_ws.close()
    await carol_ws.close()


@pytest.mark.parametrize("kept", [True, False], ids=["503 after taking", "503 before taking"])
async def test_a_picture_text_twilio_fails_on_reaches_it_once_with_a_link_that_works(
    app_server: Running, kept: bool
) -> None:
    fake = app_server.fake
    fake.script(take_then_fail(503) if kept else reject(503))
    bob = await login(app_server.url, "bob")
    watcher = await Agent.connect(app_server.url, cookies=bob.cookies)
    number = "+15551119999"
    conversation_id = await conversation_with(bob, number)
    picture = (await upload(bob, PICTURE)).json()
    sent = await bob.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"body": "Our menu", "media_ids": [picture["id"]]},
    )
    assert sent.status_code == 201, sent.text
    shown = await wait_settled(watcher, sent.json()["id"])
    # Taken by Twilio: the look-up finds it (same words, same media count), no second create.
    (text,) = texts_to(fake, number)
    assert shown["provider_sid"] == text["sid"] and shown["status"] != "failed"
    assert fake.create_calls == (1 if kept else 2)
    (media_url,) = text["media_urls"]
    async with httpx.AsyncClient() as twilio:
        assert (await twilio.get(media_url)).content == PICTURE
    await watcher.close()
