"""One table from error classes to the code and HTTP status a client sees.

HTTP (``zhanye_sdk.api.http.error_response``) and WebSocket (error frames of
``zhanye_sdk.signaling``) both describe a refusal with :func:`describe`, so the same bad
input gets the same code whichever way it came: a wrong field in a room message and in
an HTTP body are both ``invalid_input``. Pages translate the code (``error.<code>`` in
their message catalogue) and show ``message_zh``, the Chinese text, beside it.

=========================  ======  =====================================================
code                       status  error class (the first that matches, most specific
                                   first)
=========================  ======  =====================================================
``login_throttled``        429     ``LoginThrottled`` (``retry_after_s``, whole seconds)
``rate_limited``           429     ``RateLimited`` (``retry_after_s``, at least 1)
``at_capacity``            503     ``AtCapacity`` (``retry_after_s``, at least 1)
``account_disabled``       403     ``AccountDisabled``
``authentication_failed``  401     ``AuthenticationFailed``
``not_found``              404     ``NotFound`` (also ``NotAccessible``: out of scope)
``permission_denied``      403     ``PermissionDenied``
``outside_service_hours``  409     ``OutsideServiceHours``
``conflict``               409     ``ConflictError``
``invalid_input``          400     ``InvalidInput``
``error``                  400     any other ``ZhanyeError``
=========================  ======  =====================================================

Codes that belong to one protocol stay there: the envelope's own (``not_json``,
``bad_envelope`` …), an area's refusals with a reason (an ``AreaRefusal``: its
``reason`` is the code, e.g. ``not_presenter``, ``masked``), HTTP's ``not_allowed`` and
``payload_too_large``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from zhanye_sdk.errors import (
    AccountDisabled,
    AreaRefusal,
    AtCapacity,
    AuthenticationFailed,
    ConflictError,
    InvalidInput,
    LoginThrottled,
    NotFound,
    OutsideServiceHours,
    PermissionDenied,
    RateLimited,
    ZhanyeError,
)

__all__ = ["ERROR_CODES", "ErrorCode", "ErrorReport", "code_of", "describe"]


@attrs.frozen
class ErrorCode:
    """The machine-readable ``code`` of a refusal and its HTTP ``status``."""

    code: str
    status: int


#: Most specific first: the first class an error is an instance of gives its code.
ERROR_CODES: tuple[tuple[type[ZhanyeError], ErrorCode], ...] = (
    (LoginThrottled, ErrorCode("login_throttled", 429)),
    (RateLimited, ErrorCode("rate_limited", 429)),
    (AtCapacity, ErrorCode("at_capacity", 503)),
    (AccountDisabled, ErrorCode("account_disabled", 403)),
    (AuthenticationFailed, ErrorCode("authentication_failed", 401)),
    (NotFound, ErrorCode("not_found", 404)),
    (PermissionDenied, ErrorCode("permission_denied", 403)),
    (OutsideServiceHours, ErrorCode("outside_service_hours", 409)),
    (ConflictError, ErrorCode("conflict", 409)),
    (InvalidInput, ErrorCode("invalid_input", 400)),
    (ZhanyeError, ErrorCode("error", 400)),
)


@attrs.frozen
class ErrorReport:
    """A refusal as a client receives it.

    ``message`` is English (developers, logs); ``message_zh`` the same for a person in
    Chinese, when the error has one; ``details`` more fields (``retry_after_s``).
    """

    code: str
    status: int
    message: str
    message_zh: str | None = None
    details: Mapping[str, Any] = attrs.field(factory=dict)

    def data(self) -> dict[str, Any]:
        """The JSON object clients read: ``{"code", "message", "message_zh"?, …details}``."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.message_zh:
            body["message_zh"] = self.message_zh
        return {**body, **self.details}


def code_of(exc: ZhanyeError) -> ErrorCode:
    """The table's row for ``exc``."""
    for kind, code in ERROR_CODES:
        if isinstance(exc, kind):
            return code
    raise AssertionError("ZhanyeError closes the table")  # pragma: no cover


def describe(exc: ZhanyeError, code: ErrorCode | None = None) -> ErrorReport:
    """``exc`` as a client receives it, coded by the table (or by ``code`` when given:
    a protocol's own refusal, such as an HTTP 405)."""
    found = code or code_of(exc)
    details: dict[str, Any] = {}
    if isinstance(exc, LoginThrottled):
        details["retry_after_s"] = round(exc.retry_after_s)
    elif isinstance(exc, RateLimited | AtCapacity):
        details["retry_after_s"] = max(1, round(exc.retry_after_s))
    if isinstance(exc, AreaRefusal) and code is None:
        # An area's reasoned refusal: its reason is the code, the status the table's.
        return ErrorReport(exc.reason, found.status, str(exc), exc.zh, dict(exc.details))
    return ErrorReport(found.code, found.status, str(exc), exc.zh, details)
