"""The ceiling the ingest benchmark compares us with: a bare Starlette app on the same uvicorn
that parses Twilio's form, checks `X-Twilio-Signature` with the twilio library's
RequestValidator, inserts one row into WAL SQLite (one per MessageSid) and answers the empty
TwiML. No contacts, no conversations, no event log, no Redis, no middleware.

Run as `python bench/_bare_ingest.py PORT DATA_DIR AUTH_TOKEN PUBLIC_URL`.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def make_app(data_dir: Path, auth_token: str, public_url: str) -> Starlette:
    db = sqlite3.connect(data_dir / "bare.db", isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")  # as switchboard's store (inbox/db.py)
    db.execute(
        "CREATE TABLE IF NOT EXISTS message (id INTEGER PRIMARY KEY, sid TEXT UNIQUE, "
        "from_number TEXT, to_number TEXT, body TEXT, created_at TEXT DEFAULT CURRENT_TIMESTAMP)"
    )
    validator = RequestValidator(auth_token)

    async def inbound(request: Request) -> Response:
        form = await request.form()
        params = {k: v for k, v in form.items() if isinstance(v, str)}
        url = public_url + request.url.path
        if not validator.validate(url, params, request.headers.get("x-twilio-signature", "")):
            return Response("bad signature", status_code=403)
        db.execute(
            "INSERT OR IGNORE INTO message (sid, from_number, to_number, body) VALUES (?,?,?,?)",
            (params["MessageSid"], params["From"], params["To"], params.get("Body", "")),
        )
        return Response(EMPTY_TWIML, media_type="text/xml")

    async def healthz(request: Request) -> Response:
        return Response("ok")

    return Starlette(
        routes=[
            Route("/webhooks/twilio/messages", inbound, methods=["POST"]),
            Route("/healthz", healthz),
        ]
    )


if __name__ == "__main__":
    port, data_dir, token, public = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
    uvicorn.run(make_app(data_dir, token, public), host="127.0.0.1", port=port, log_level="warning")
