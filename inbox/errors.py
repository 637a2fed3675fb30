"""Errors of the inbox domain. `server/` maps each `code` to an HTTP status.

InboxError
├── NotFoundError            (404 not_found)
│   └── MediaGoneError       (404 media_gone: the provider no longer has a received file)
├── ForbiddenError           (403 forbidden)
├── InvalidInputError        (422 invalid / too_long / empty / invalid_number / invalid_area_code)
│   └── RegistrationRejectedError  (422 registration_rejected: the carrier's checks, as reasons)
├── ConflictError            (409 opted_out / read_only / number_pool_full / released)
│   ├── NumberUnavailableError     (409 unavailable: that number, or any in that area code)
│   └── TooSoonError               (429 too_soon: allowed again after `retry_after_secs`)
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


class MediaGoneError(NotFoundError):
    code = "media_gone"


class ForbiddenError(InboxError):
    code = "forbidden"


class InvalidInputError(InboxError):
    code = "invalid"


class ConflictError(InboxError):
    code = "conflict"


class NumberUnavailableError(ConflictError):
    """The number is no longer for sale, or no number is left in the area code."""

    code = "unavailable"

    def __init__(
        self,
        message: str,
        *,
        phone_number: str | None = None,
        area_code: str | None = None,
        provider_code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.phone_number = phone_number
        self.area_code = area_code
        self.provider_code = provider_code


class TooSoonError(ConflictError):
    """Allowed, but not again yet (an inbox replaces its number at most once a month)."""

    code = "too_soon"

    def __init__(self, message: str, retry_after_secs: float) -> None:
        super().__init__(message)
        self.retry_after_secs = retry_after_secs


class RegistrationRejectedError(InvalidInputError):
    """The carrier's checks refused the business or campaign details before review."""

    code = "registration_rejected"

    def __init__(self, message: str, reasons: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.reasons = reasons


class SmsError(InboxError):
    """A provider error. `retryable` is true for 5xx answers and timeouts; `maybe_done` is
    true when the provider may have done what it was asked all the same (a timeout, a broken
    connection, a 5xx: a text may have been taken, a number bought)."""

    code = "sms_error"

    def __init__(
        self,
        message: str,
        provider_code: str | None = None,
        *,
        retryable: bool = False,
        maybe_done: bool = False,
    ) -> None:
        super().__init__(message)
        self.provider_code = provider_code
        self.retryable = retryable
        self.maybe_done = maybe_done
