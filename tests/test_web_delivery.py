"""Pages and static files for a slow phone: gzip, versioned immutable URLs, lazy modules."""

from __future__ import annotations

import gzip
import os
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.sync_api import BrowserContext, Page, Request, expect

from hosts.web.delivery import StaticFiles
from zhanye_sdk.devices.gateway import LoggingSmsGateway

from . import material_files
from .catalogue import catalogue_keys
from .hall_pages import copy_invite, join, open_hall, share_file
from .platform_world import World
from .webhost import RunningHost, ThreadedLoop, world_host

MATERIAL = "保险合同.pdf"


@pytest.fixture
def host(tmp_path: Path) -> Iterator[RunningHost]:

    async def prepare(world: World) -> None:
        await world.platform.materials.upload_file(
            world.p("sp_A1"), MATERIAL, material_files.pdf(2)
        )

    with world_host(
        tmp_path, prepare, sms_gateway=LoggingSmsGateway(signature="智慧展业")
    ) as running:
        yield running


def fetch(url: str, **headers: str) -> tuple[int, Any, bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_text_is_gzipped_for_browsers_that_ask(host: RunningHost) -> None:
    for path in ("/static/messages.js", "/join/x", "/static/session.css"):
        status, headers, body = fetch(host.url + path, **{"Accept-Encoding": "gzip, br"})
        assert status == 200
        assert headers["Content-Encoding"] == "gzip", path
        assert "Accept-Encoding" in headers["Vary"]
        plain_status, plain_headers, plain = fetch(host.url + path)
        assert plain_headers.get("Content-Encoding") is None
        assert gzip.decompress(body) == plain
        assert len(body) < len(plain) / 2, path


def test_the_customer_page_names_only_versioned_immutable_files(host: RunningHost) -> None:
    _, page_headers, page = fetch(host.url + "/join/x")
    assert page_headers["Cache-Control"] == "no-cache"
    html = page.decode()
    assert 'src="/static/' not in html and 'href="/static/' not in html
    urls = re.findall(r'(?:src|href)="(/_v/[^"]+)"', html)
    assert any(url.endswith("/static/pages/join.js") for url in urls)
    # The whole static import graph is preloaded at once; what loads on demand is not.
    preloads = re.findall(r'rel="modulepreload" href="([^"]+)"', html)
    assert any(url.endswith("/static/messages.js") for url in preloads)
    # English is loaded by a page that speaks it, not by every customer's phone.
    assert not [url for url in preloads if "messages-en" in url]
    assert not [url for url in preloads if "whiteboard" in url or "cobrowse" in url]
    # Nor what only the session needs (its socket, media, stage, 美颜) or the staff shell:
    # the form shows without them, and they come while the person types.
    later = ("media-session", "room-client", "room-view", "video-dock", "beauty", "shell")
    assert not [url for url in preloads if any(f"/static/{name}.js" in url for name in later)]
    seen: set[str] = set()
    while urls:
        url = urls.pop()
        if url in seen:
            continue
        seen.add(url)
        status, headers, body = fetch(host.url + url)
        assert status == 200, url
        assert headers["Cache-Control"] == "public, max-age=31536000, immutable", url
        if url.endswith(".js"):
            text = body.decode()
            # Every import of a static module names its versioned URL too.
            assert not re.search(r"""from\s*["']\.{1,2}/""", text), url
            urls += re.findall(r"""from\s*["'](/_v/[^"']+)["']""", text)
    assert any(url.endswith("/static/i18n.js") for url in seen)


class StaticHost(ThreadedLoop):
    """Just ``StaticFiles`` over a folder, on a loopback port."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.files = StaticFiles({"/static": root})

    async def _start(self) -> None:
        app = web.Application()

        async def page(request: web.Request) -> web.StreamResponse:
            return self.files.page(request, Path(self.files.roots["/static"]) / "page.html")

        async def static(request: web.Request) -> web.StreamResponse:
            return self.files.respond(request, request.path)

        app.router.add_get("/", page)
        app.router.add_get("/static/{tail:.+}", static)
        app.router.add_get("/_v/{tail:.+}", static)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def _stop(self) -> None:
        await self.runner.cleanup()


def test_a_changed_file_gets_a_new_url_and_so_does_every_module_importing_it(
    tmp_path: Path,
) -> None:
    (tmp_path / "page.html").write_text('<script type="module" src="/static/app.js"></script>')
    (tmp_path / "app.js").write_text('import { x } from "./lib.js";\nconsole.log(x);\n')
    lib = tmp_path / "lib.js"
    lib.write_text("export const x = 1;\n")
    served = StaticHost(tmp_path).start()
    try:

        def versions() -> tuple[str, str]:
            page = fetch(served.url + "/")[2].decode()
            app_url = re.search(r'src="(/_v/\w+/static/app\.js)"', page)
            assert app_url, page
            _, headers, app = fetch(served.url + app_url.group(1))
            assert headers["Cache-Control"].endswith("immutable")
            lib_url = re.search(r'from "(/_v/\w+/static/lib\.js)"', app.decode())
            assert lib_url, app
            return app_url.group(1), lib_url.group(1)

        old_app, old_lib = versions()
        assert fetch(served.url + old_lib)[2] == b"export const x = 1;\n"
        lib.write_text("export const x = 2;\n")
        stat = lib.stat()
        os.utime(lib, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        new_app, new_lib = versions()
        assert new_lib != old_lib and new_app != old_app
        assert fetch(served.url + new_lib)[2] == b"export const x = 2;\n"
        # A page still holding the old URL gets the current file, not cached for good.
        status, headers, body = fetch(served.url + old_lib)
        assert body == b"export const x = 2;\n" and headers["Cache-Control"] == "no-cache"
        # Revalidation of an unchanged file is a 304.
        _, headers, _ = fetch(served.url + new_lib)
        assert fetch(served.url + new_lib, **{"If-None-Match": headers["ETag"]})[0] == 304
    finally:
        served.stop()


def module_requests(page: Page) -> list[str]:
    seen: list[str] = []

    def log(request: Request) -> None:
        seen.append(request.url)

    page.on("request", log)
    return seen


@pytest.mark.e2e
def test_the_customer_page_fetches_the_whiteboard_only_when_something_is_shared(
    browser: Any, host: RunningHost
) -> None:
    staff_context = browser.new_context(viewport={"width": 1366, "height": 800})
    phone: BrowserContext = browser.new_context(viewport={"width": 375, "height": 812})
    late: BrowserContext = browser.new_context(viewport={"width": 375, "height": 812})
    try:
        staff = open_hall(staff_context, host)
        link = copy_invite(staff)
        requests: list[str] = []
        phone.on("request", lambda request: requests.append(request.url))
        customer = join(phone, link, "客户王女士")
        customer.wait_for_load_state("networkidle")
        expect(customer.locator("#board-panel")).to_be_hidden()
        assert any(url.endswith("/static/pages/join.js") for url in requests)
        assert not [url for url in requests if url.endswith(("/whiteboard.js", "/whiteboard.css"))]

        share_file(staff, MATERIAL)
        expect(customer.locator("#board-panel .board-title")).to_have_text(MATERIAL)
        assert [url for url in requests if url.endswith("/static/whiteboard.js")]
        # …with its style sheet: the board has its layout on the phone.
        assert [url for url in requests if url.endswith("/static/whiteboard.css")]
        board = customer.locator("#board-panel .board")
        assert board.evaluate("b => getComputedStyle(b).display") == "grid"

        # Someone who joins while a file is shared sees it at once.
        newcomer = join(late, copy_invite(staff), "客户李先生")
        expect(newcomer.locator("#board-panel .board-title")).to_have_text(MATERIAL)
    finally:
        staff_context.close()
        phone.close()
        late.close()


def test_both_languages_have_the_same_words() -> None:
    chinese, english = catalogue_keys("zh-CN"), catalogue_keys("en")
    assert len(chinese) > 500
    assert len(set(chinese)) == len(chinese) and len(set(english)) == len(english)
    assert set(chinese) == set(english), set(chinese) ^ set(english)
