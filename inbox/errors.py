"""Errors of the inbox domain. `server/` maps each `code` to an HTTP status.

InboxError
├── NotFoundError            (404 not_found)
├── ForbiddenError           (403 forbidden)
├── InvalidInputError        (422 invalid / too_long / empty / invalid_number)
├── ConflictError            (409 opted_out / read_only)
└── SmsError                 (a provider refused or failed; carries the provider's error code)
"""

from __future__ import annotations


class InboxError(Exception):
    code = "inbox_error"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NotFoundError(InboxError):
    code = "not_found"


class ForbiddenError(InboxError):
    code = "forbidden"


class InvalidInputError(InboxError):
    code = "invalid"


class ConflictError(InboxError):
    code = "conflict"


class SmsError(InboxError):
    """A provider error. `retryable` is true for 5xx answers and timeouts."""

    code = "sms_error"

    def __init__(
        self, message: str, provider_code: str | None = None, *, retryable: bool = False
    ) -> None:
        super().__init__(message)
        self.provider_code = provider_code
        self.retryable = retryable
