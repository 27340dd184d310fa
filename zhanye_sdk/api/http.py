"""Framework-free HTTP request and response types, routing and error mapping."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from zhanye_sdk.error_codes import ErrorCode, ErrorReport, describe
from zhanye_sdk.errors import InvalidInput, ZhanyeError

__all__ = [
    "JSON_BODY",
    "STAFF_JSON_BODY",
    "UPLOAD_BODY",
    "ApiError",
    "ApiRequest",
    "ApiResponse",
    "BodyLimit",
    "BodyTooLarge",
    "DuplicateRoute",
    "Router",
    "bearer_token",
    "error_response",
]

MAX_JSON_BYTES = 64 * 1024
#: The most any route's JSON may hold (``STAFF_JSON_BODY``), checked again when parsing.
_MAX_PARSED_JSON_BYTES = 1 << 20


@attrs.frozen
class BodyLimit:
    """How much request body a route accepts, and on what terms, decided before reading it.

    Attributes:
        max_bytes: the most the body may hold; a larger one is refused with 413 unread.
        logged_in: the sender must present a valid login token before anything is read
            (large limits are for staff, never for anyone on the internet).
        to_disk: the host spools the body to a temporary file (``ApiRequest.body_file``)
            instead of holding it in memory.
    """

    max_bytes: int
    logged_in: bool = False
    to_disk: bool = False


#: Every JSON endpoint's limit.
JSON_BODY = BodyLimit(MAX_JSON_BYTES)
#: Large JSON documents staff edit (SOP flows with 100 nodes of phrases): logged in only.
STAFF_JSON_BODY = BodyLimit(_MAX_PARSED_JSON_BYTES, logged_in=True)
#: File uploads (materials): large, for logged-in staff only, spooled to disk.
UPLOAD_BODY = BodyLimit(600 * 1024 * 1024, logged_in=True, to_disk=True)


@attrs.frozen
class ApiRequest:
    """One HTTP request as the SDK sees it."""

    method: str
    path: str
    query: Mapping[str, str] = attrs.field(factory=dict)
    headers: Mapping[str, str] = attrs.field(factory=dict)
    body: bytes = b""
    client_address: str | None = None
    #: A large body the host spooled to disk (routes with ``BodyLimit.to_disk``).
    body_file: Path | None = None

    def body_bytes(self) -> bytes:
        """The body, read from ``body_file`` when the host spooled it there."""
        return self.body_file.read_bytes() if self.body_file is not None else self.body

    def header(self, name: str) -> str | None:
        """A header's value, whatever its case."""
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None

    def json(self) -> dict[str, Any]:
        """The body as a JSON object.

        Raises:
            InvalidInput: the body is too large, not JSON, or not an object.
        """
        if len(self.body) > _MAX_PARSED_JSON_BYTES:
            raise BodyTooLarge(_MAX_PARSED_JSON_BYTES)
        if not self.body:
            return {}
        try:
            data = json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidInput(f"request body is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise InvalidInput("request body must be a JSON object")
        return data


@attrs.frozen
class ApiResponse:
    """What to send back: a status, a body and its content type."""

    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: Mapping[str, str] = attrs.field(factory=dict)
    #: When set, the body is this file's content, which hosts stream (``body`` is empty).
    file: Path | None = None

    @classmethod
    def of_json(cls, data: object, status: int = 200) -> ApiResponse:
        """A JSON response."""
        return cls(status, json.dumps(data, ensure_ascii=False).encode("utf-8"))

    def json(self) -> Any:
        """The body parsed back (tests and clients)."""
        return json.loads(self.body)


class ApiError(ZhanyeError):
    """An HTTP-level refusal with a status and a machine-readable code."""

    def __init__(self, status: int, code: str, message: str, *, zh: str | None = None) -> None:
        super().__init__(message, zh=zh)
        self.status = status
        self.code = code


class BodyTooLarge(ApiError):
    """A request body over its route's ``BodyLimit`` (413, refused before it is read)."""

    def __init__(self, limit: int) -> None:
        size = f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit // 1024} KiB"
        super().__init__(
            413,
            "payload_too_large",
            f"the request body is larger than the {size} this endpoint accepts",
            zh=f"提交的内容过大：此处最多接受 {size}",
        )
        self.limit = limit


def bearer_token(request: ApiRequest) -> str:
    """The bearer token of a request (``Authorization: Bearer …``), or a 401."""
    header = request.header("Authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "authentication_failed", "log in first", zh="请先登录")
    return token.strip()


def error_response(exc: BaseException) -> ApiResponse:
    """Map an SDK exception to a status and a code that pages translate.

    The code and status come from the one table of ``zhanye_sdk.error_codes``, shared
    with the WebSocket's error frames; an ``ApiError`` brings its own (``not_allowed``
    405, ``payload_too_large`` 413 …). The body is ``{"error": {"code", "message",
    "message_zh"?, …}}``: ``message`` is English, ``message_zh`` the Chinese text when
    the exception has one (``ZhanyeError.zh``).
    """
    if not isinstance(exc, ZhanyeError):
        report = ErrorReport("error", 400, str(exc))
    elif isinstance(exc, ApiError):
        report = describe(exc, ErrorCode(exc.code, exc.status))
    else:
        report = describe(exc)
    return ApiResponse.of_json({"error": report.data()}, report.status)


Handler = Callable[..., Awaitable[ApiResponse]]


class DuplicateRoute(ZhanyeError):
    """Two handlers for one method and path pattern: a deployment refuses to assemble."""

    def __init__(self, message: str) -> None:
        super().__init__(message, zh="两个功能声明了同一个接口路径")


_PARAM = re.compile(r"\{(\w+)\}")
_PARAM_VALUE = "[A-Za-z0-9_.\\-]+"


def _segment_covers(wide: str, narrow: str) -> bool:
    """Whether segment pattern ``wide`` matches every segment that ``narrow`` matches."""
    if wide == narrow:
        return True
    if not _PARAM.search(wide):
        return False
    if _PARAM.fullmatch(wide):
        return True  # a whole-segment parameter takes any segment
    if _PARAM.search(narrow):
        return False  # two different partial patterns: not provably wider
    parts = _PARAM.split(wide)
    regex = "".join(_PARAM_VALUE if i % 2 else re.escape(p) for i, p in enumerate(parts))
    return re.fullmatch(regex, narrow) is not None


def _covers(wide: str, narrow: str) -> bool:
    """Whether route pattern ``wide`` answers every path of ``narrow`` (a parameter never
    spans a ``/``): then one of them never sees some or all of its own paths."""
    first, second = wide.split("/"), narrow.split("/")
    return len(first) == len(second) and all(
        _segment_covers(a, b) for a, b in zip(first, second, strict=True)
    )


class Router:
    """Routes ``METHOD /path/{param}`` patterns to handlers."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler, BodyLimit]] = []
        self._patterns: list[tuple[str, str]] = []

    def add(
        self, method: str, pattern: str, handler: Handler, *, body: BodyLimit = JSON_BODY
    ) -> None:
        """Register ``handler(request, **params)`` for ``method`` and ``pattern``.

        ``body`` is what the route accepts as a request body (hosts check it before reading).
        """
        method = method.upper()
        if (method, pattern) in self._patterns:
            raise DuplicateRoute(f"two handlers for {method} {pattern}")
        regex = _PARAM.sub(lambda m: f"(?P<{m[1]}>{_PARAM_VALUE})", pattern)
        self._routes.append((method, re.compile(f"^{regex}$"), handler, body))
        self._patterns.append((method, pattern))

    def include(self, other: Router) -> None:
        """Add every route of ``other`` after this router's own, in its order.

        Raises:
            DuplicateRoute: a route of one router answers every path of a route of the
                other for the same method: the same pattern, or one with a ``{param}``
                where the other has a literal (``/api/x/{id}`` and ``/api/x/export``).
        """
        clashes = sorted(set(self._patterns) & set(other._patterns))
        if clashes:
            named = ", ".join(f"{method} {pattern}" for method, pattern in clashes)
            raise DuplicateRoute(f"two handlers for {named}")
        for method, pattern in self._patterns:
            for other_method, other_pattern in other._patterns:
                if method == other_method and (
                    _covers(pattern, other_pattern) or _covers(other_pattern, pattern)
                ):
                    raise DuplicateRoute(
                        f"two handlers for {method} {other_pattern}: {pattern} answers it too"
                    )
        self._routes.extend(other._routes)
        self._patterns.extend(other._patterns)

    def patterns(self) -> list[tuple[str, str]]:
        """Each route's method and pattern, in the order they are tried."""
        return list(self._patterns)

    def body_limit(self, method: str, path: str) -> BodyLimit:
        """The body limit of the route for ``method`` and ``path`` (``JSON_BODY`` if none)."""
        for route_method, regex, _, body in self._routes:
            if route_method == method.upper() and regex.match(path):
                return body
        return JSON_BODY

    def handles(self, path: str) -> bool:
        """Whether any route matches ``path`` (whatever the method)."""
        return any(regex.match(path) for _, regex, _, _ in self._routes)

    async def dispatch(self, request: ApiRequest) -> ApiResponse:
        """Run the matching handler, mapping SDK errors to error responses."""
        allowed = False
        for method, regex, handler, _ in self._routes:
            match = regex.match(request.path)
            if match is None:
                continue
            if method != request.method.upper():
                allowed = True
                continue
            try:
                return await handler(request, **match.groupdict())
            except ZhanyeError as exc:
                return error_response(exc)
        if allowed:
            return error_response(ApiError(405, "not_allowed", "method not allowed here"))
        return error_response(ApiError(404, "not_found", f"no endpoint {request.path}"))
