"""REST for pictures and files (docs/decisions.md, "Pictures (MMS)"): an agent's upload to
attach to a text (multipart, its own body limit: server/http/limits.py), an attachment's bytes
for the members of its inbox, and the signed URL the provider fetches a sent file from."""

from __future__ import annotations

from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from inbox import attachments
from inbox.errors import SmsError
from inbox.views import INLINE_TYPES, attachment_view
from server.auth import require_user
from server.errors import ApiError
from server.flows import media
from server.http._helpers import caller, path_id
from server.services import services


async def upload_media(request: Request) -> JSONResponse:
    """Form field `file`: kept until sent with a text (`media_ids`), or forgotten a day on."""
    user = await require_user(request)
    try:
        form = await request.form(max_files=1, max_fields=4)
    except MultiPartException as exc:
        raise ApiError(400, "invalid_form", f"the body is not a form with one file: {exc}") from exc
    file = form.get("file")
    if not isinstance(file, UploadFile):
        raise ApiError(422, "invalid", "a file is required (the form field `file`)")
    data = await file.read(attachments.MAX_MMS_BYTES + 1)
    if len(data) > attachments.MAX_MMS_BYTES:
        raise ApiError(
            413,
            "too_large",
            f"the file is over {attachments.MAX_MMS_BYTES:,} bytes (Twilio's limit)",
        )
    row = await media.upload(services(request), user, data, file.filename)
    return JSONResponse(attachment_view(row), status_code=201)


async def get_media(request: Request) -> Response:
    """The bytes, to members of the attachment's inbox only; `?download=1` as a download.
    Only pictures recognised from their bytes are ever shown in a page; anything else (SVG,
    HTML, whatever the provider called it) is a download, never rendered from our origin."""
    user, visible = await caller(request)
    try:
        opened = await media.open_for(
            services(request), user, visible, path_id(request, "attachment_id")
        )
    except SmsError as exc:
        raise ApiError(
            503, "media_unavailable", "Twilio did not hand over this file just now; try again"
        ) from exc
    shown = opened.attachment.content_type in INLINE_TYPES
    inline = shown and request.query_params.get("download") != "1"
    return _file(opened, inline, "private, max-age=86400", attachments.FILENAME_CHARS)


async def get_signed_media(request: Request) -> Response:
    """For the provider: no session, the signature and its age checked (403 otherwise).
    Twilio checks the Content-Type (GET and HEAD) and names the file after Content-Disposition
    (inline, 20 characters at most, no spaces: its "Accepted content types for media")."""
    opened = await media.open_signed(services(request), str(request.path_params["token"]))
    inline = opened.attachment.content_type in attachments.SENDABLE_TYPES
    return _file(opened, inline, "no-store", TWILIO_NAME_CHARS)


TWILIO_NAME_CHARS = 20


def _file(opened: media.Opened, inline: bool, cache: str, name_chars: int) -> Response:
    a = opened.attachment
    name = attachments.ascii_name(a.filename, name_chars)
    disposition = (
        f'{"inline" if inline else "attachment"}; filename="{name}"; '
        f"filename*=UTF-8''{quote(a.filename, safe='')}"
    )
    headers = {"content-disposition": disposition, "cache-control": cache}
    return Response(opened.data, media_type=a.content_type, headers=headers)


routes = [
    Route("/media", upload_media, methods=["POST"]),
    Route("/media/{attachment_id}", get_media, methods=["GET"]),
]
public_routes = [Route("/media/{token}", get_signed_media, methods=["GET"])]
