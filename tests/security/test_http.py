"""Attacks on the web host's HTTP layer, from the attacker's side of a real socket or browser.

Covered:
- memory exhaustion with a huge body to an unauthenticated endpoint (``/api/login``), with a
  declared ``Content-Length`` and with ``Transfer-Encoding: chunked`` (#14.2);
- a huge upload to the upload route without logging in, and over the limit when logged in;
- a forged ``Origin`` / ``Host`` turning the official SMS invitation into a link to the
  attacker's site (#14.7);
- guessing short invite codes (``/j/<code>``): lookups are rate-limited per client, and a
  code stops opening anything when its invite expires;
- large JSON (up to 1 MiB, SOP flows) from someone not logged in: refused before reading;
- open redirects after login through ``next=`` (``/\\host``, ``/<tab>/host``, ``//host``,
  ``https:host``, ``/.//host``) (#14.9);
- a forged ``Host`` header writing directives into the policy;
- reading the plotly wheel's other data files (datasets, templates, the widget bundle)
  through ``/vendor``: only ``/vendor/plotly.min.js`` is served;
- framing, content sniffing, inline script and Referer leaks: the security headers on every
  page, static file and API response, and no policy violation on any page (#14.11).
"""

from __future__ import annotations

import json
import re
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from hosts.web.server import PAGES, PLOTLY_JS
from zhanye_sdk.devices.gateway import LoggingSmsGateway
from zhanye_sdk.rooms.invite_codes import new_code

from ..platform_world import PASSWORD, World
from ..webhost import DEPLOYMENT, RunningHost, free_port, world_host

PUBLIC_URL = "https://zy.example-bank.cn"


@pytest.fixture
def host(tmp_path: Path) -> Iterator[RunningHost]:
    with world_host(
        tmp_path, sms_gateway=LoggingSmsGateway(signature="智慧展业"), public_url=PUBLIC_URL
    ) as running:
        yield running


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


def rss_bytes() -> int:
    """This process's resident memory (the host runs in a thread of it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def call(host: RunningHost, method: str, path: str, body: Any = None, **headers: str) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(host.url + path, data=data, method=method, headers=headers)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def login_token(host: RunningHost, login: str = "sp-A1") -> str:
    status, body = call(host, "POST", "/api/login", {"login": login, "password": PASSWORD})
    assert status == 200, body
    return str(body["token"])


def status_of(raw: bytes) -> int:
    match = re.match(rb"HTTP/1\.1 (\d{3})", raw)
    assert match, raw[:200]
    return int(match.group(1))


def push_until_answered(sock: socket.socket, chunk: bytes, total: int) -> tuple[bytes, int]:
    """Send up to ``total`` bytes of ``chunk`` while watching for an answer; (answer, sent)."""
    sock.setblocking(False)
    sent = 0
    answer = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            answer += sock.recv(65536)
            if b"\r\n\r\n" in answer:
                break
        except BlockingIOError:
            pass
        except ConnectionError:
            break
        if sent < total:
            try:
                sent += sock.send(chunk)
            except BlockingIOError:
                time.sleep(0.001)
            except (BrokenPipeError, ConnectionResetError):
                break
        else:
            time.sleep(0.01)
    sock.setblocking(True)
    sock.settimeout(10)
    try:
        while b"\r\n\r\n" not in answer:
            more = sock.recv(65536)
            if not more:
                break
            answer += more
    except (TimeoutError, ConnectionError):
        pass
    return answer, sent


def test_a_550_mb_login_body_is_refused_unread(host: RunningHost) -> None:
    before = rss_bytes()
    with socket.create_connection(("127.0.0.1", host.port)) as sock:
        sock.sendall(
            b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 576716800\r\n\r\n"
        )
        # Nothing of the body has been sent: the refusal must come anyway.
        sock.settimeout(10)
        answer = sock.recv(65536)
    assert status_of(answer) == 413
    assert b"payload_too_large" in answer
    assert "提交的内容过大".encode() in answer
    assert rss_bytes() - before < 32 * 1024 * 1024


def test_a_chunked_login_body_is_cut_off_at_the_limit(host: RunningHost) -> None:
    before = rss_bytes()
    megabyte = b"x" * (1 << 20)
    chunk = b"100000\r\n" + megabyte + b"\r\n"
    with socket.create_connection(("127.0.0.1", host.port)) as sock:
        sock.sendall(
            b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        answer, sent = push_until_answered(sock, chunk, 300 * len(chunk))
    assert status_of(answer) == 413, answer[:300]
    # Refused long before the 300 MB were through, and nothing like that much was kept.
    assert sent < 200 * len(chunk)
    assert rss_bytes() - before < 48 * 1024 * 1024


def test_an_upload_without_logging_in_is_refused_before_its_body(host: RunningHost) -> None:
    with socket.create_connection(("127.0.0.1", host.port)) as sock:
        sock.sendall(
            b"POST /api/materials/upload?name=x&kind=file HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/octet-stream\r\nContent-Length: 524288000\r\n\r\n"
        )
        sock.settimeout(10)
        answer = sock.recv(65536)
    assert status_of(answer) == 401


def test_a_logged_in_upload_over_the_limit_is_refused_unread(host: RunningHost) -> None:
    token = login_token(host, "oa-A1")
    with socket.create_connection(("127.0.0.1", host.port)) as sock:
        sock.sendall(
            b"POST /api/materials/upload?name=x&kind=file HTTP/1.1\r\nHost: x\r\n"
            + f"Authorization: Bearer {token}\r\n".encode()
            + b"Content-Type: application/octet-stream\r\nContent-Length: 734003200\r\n\r\n"
        )
        sock.settimeout(10)
        answer = sock.recv(65536)
    assert status_of(answer) == 413


def test_a_forged_origin_does_not_redirect_the_sms_invitation(host: RunningHost) -> None:
    token = login_token(host)
    auth = {"Authorization": f"Bearer {token}"}
    status, session = call(host, "POST", "/api/sessions", {}, **auth)
    assert status == 201, session
    status, body = call(
        host,
        "POST",
        f"/api/sessions/{session['id']}/sms-invites",
        {"numbers": ["13800138000"]},
        Origin="https://evil.example",
        Host="evil.example",
        **{"X-Forwarded-Host": "evil.example"},
        **auth,
    )
    assert status == 200, body
    gateway = host.app[DEPLOYMENT].sms_gateway
    [(number, text)] = gateway.sent
    assert number == "13800138000"
    assert "evil" not in text
    link = re.search(r"https?://\S+?/j/[A-Za-z0-9]+", text)
    assert link is not None and link.group(0).startswith(f"{PUBLIC_URL}/j/"), text
    # The link works: it opens this session's invite.
    code = link.group(0).rsplit("/", 1)[1]
    status, invite = call(host, "GET", f"/api/invites/{code}")
    assert status == 200 and invite["meeting_number"] == session["meeting_number"]


def test_guessing_short_invite_codes_is_rate_limited(host: RunningHost) -> None:
    statuses = [call(host, "GET", f"/api/invites/{new_code()}")[0] for _ in range(40)]
    assert set(statuses[:30]) == {403}
    assert statuses[-1] == 429


NEXT_ATTACKS = [
    "/%5C127.0.0.1:{port}/x",
    "/%09/127.0.0.1:{port}/x",
    "//127.0.0.1:{port}/x",
    "https:127.0.0.1:{port}/x",
    "/.//127.0.0.1:{port}/x",
    "/%5C%5C127.0.0.1:{port}/x",
]


@pytest.mark.e2e
@pytest.mark.parametrize("attack", NEXT_ATTACKS)
def test_login_never_redirects_off_the_site(page: Page, host: RunningHost, attack: str) -> None:
    elsewhere = free_port()
    page.goto(f"{host.url}/login?next={attack.format(port=elsewhere)}")
    page.get_by_label("账号").fill("sp-A1")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login" not in url, timeout=15_000)
    page.wait_for_load_state()
    assert page.url.startswith(f"{host.url}/"), page.url


@pytest.mark.e2e
def test_login_still_follows_a_path_on_the_site(page: Page, host: RunningHost) -> None:
    page.goto(f"{host.url}/login?next=/records%3Fx%3D1")
    page.get_by_label("账号").fill("sp-A1")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{host.url}/records?x=1")


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def assert_secured(headers: Any, path: str) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name) == value, (path, name)
    policy = headers.get("Content-Security-Policy") or ""
    directives = {d.split()[0]: d.split()[1:] for d in policy.split("; ") if d}
    assert directives.get("script-src") == ["'self'"], (path, policy)
    assert directives.get("frame-ancestors") == ["'self'"], (path, policy)
    assert directives.get("object-src") == ["'none'"], (path, policy)


def page_paths() -> list[str]:
    dynamic = [
        "/sessions/0123456789abcdef0123456789abcdef",
        "/join/not-a-token",
        "/j/AbCdEfGhJk",
        "/sessions/0123456789abcdef0123456789abcdef/playback",
        "/records/0123456789abcdef0123456789abcdef/cobrowse",
        "/records/0123456789abcdef0123456789abcdef/board",
    ]
    return [*PAGES, *dynamic]


@pytest.mark.parametrize(
    "path",
    [
        "/vendor/widgetbundle.js",
        "/vendor/datasets/election.csv.gz",
        "/vendor/templates/plotly.json",
        "/vendor/../package_data/widgetbundle.js",
        "/vendor/%2e%2e/__init__.py",
        "/vendor/",
        "/_v/0/vendor/widgetbundle.js",
    ],
)
def test_vendor_serves_only_the_chart_library(host: RunningHost, path: str) -> None:
    shipped = PLOTLY_JS.read_bytes()
    with urllib.request.urlopen(f"{host.url}/vendor/plotly.min.js", timeout=30) as answer:
        assert answer.read() == shipped
    # Whether the file exists in the wheel or not, the answer is the same: not found.
    assert (PLOTLY_JS.parent / "widgetbundle.js").is_file()
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{host.url}{path}", timeout=30)
    assert refused.value.code == 404


def test_every_response_carries_the_security_headers(host: RunningHost) -> None:
    paths = [*page_paths(), "/static/api.js", "/sdk/cobrowse/replayer.js", "/api/me", "/nope"]
    for path in paths:
        request = urllib.request.Request(host.url + path)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                headers = response.headers
        except urllib.error.HTTPError as error:
            headers = error.headers
        assert_secured(headers, path)


@pytest.mark.e2e
def test_no_page_breaks_its_content_security_policy(browser: Any, host: RunningHost) -> None:
    context = browser.new_context()
    violations: list[str] = []
    errors: list[str] = []
    context.add_init_script(
        "document.addEventListener('securitypolicyviolation', (e) =>"
        " (window.__csp = window.__csp || []).push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    try:
        page = context.new_page()
        page.on(
            "console",
            lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{host.url}/login")
        page.get_by_label("账号").fill("ca-A")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(lambda url: "/login" not in url)
        for path in page_paths():
            page.goto(host.url + path)
            page.wait_for_load_state("networkidle")
            # Every page's own module ran (it translates the page's marked text).
            assert page.evaluate("document.querySelector('[data-i18n]')?.textContent") != ""
            violations += page.evaluate("window.__csp || []")
    finally:
        context.close()
    assert violations == []
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_large_json_is_for_logged_in_staff_only(host: RunningHost) -> None:
    flow = {"name": "大流程", "nodes": [{"name": "节点" * 40000}]}  # ~240 KB of JSON
    status, body = call(host, "POST", "/api/sop/flows", flow)
    assert status == 401, body
    token = login_token(host, "ca-A")
    status, body = call(host, "POST", "/api/sop/flows", flow, Authorization=f"Bearer {token}")
    # Read and judged by the SOP endpoints (a node name that long is their refusal).
    assert status == 400 and body["error"]["code"] == "invalid_input", body
    status, body = call(host, "POST", "/api/sessions", flow, Authorization=f"Bearer {token}")
    assert status == 413 and body["error"]["code"] == "payload_too_large", body


def test_a_short_link_dies_with_its_invite(host: RunningHost) -> None:
    token = login_token(host)
    auth = {"Authorization": f"Bearer {token}"}
    _, session = call(host, "POST", "/api/sessions", {}, **auth)
    _, invite = call(host, "POST", f"/api/sessions/{session['id']}/invite-link", {}, **auth)
    code = invite["short_path"].rsplit("/", 1)[1]
    assert call(host, "GET", f"/api/invites/{code}")[0] == 200
    world: World = host.extra
    world.clock.advance(24 * 3600 + 1)
    status, body = call(host, "GET", f"/api/invites/{code}")
    assert status == 403 and body["error"]["code"] == "permission_denied", body


def test_a_forged_host_cannot_write_into_the_policy(host: RunningHost) -> None:
    with socket.create_connection(("127.0.0.1", host.port)) as sock:
        sock.sendall(
            b"GET /login HTTP/1.1\r\nHost: a.example; script-src * 'unsafe-inline'\r\n"
            b"Connection: close\r\n\r\n"
        )
        sock.settimeout(10)
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(65536)
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    [policy] = [line for line in head.split("\r\n") if line.startswith("Content-Security-Policy")]
    assert "script-src 'self';" in policy and "unsafe-inline'" not in policy.split("style-src")[0]
    assert "a.example" not in policy
    # The page's own host is named for its WebSocket (browsers before CSP 3).
    with urllib.request.urlopen(host.url + "/login", timeout=30) as response:
        headers = response.headers
    assert f"ws://127.0.0.1:{host.port}" in headers["Content-Security-Policy"]
