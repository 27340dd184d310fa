"""Static files and pages for a phone on a slow line: compressed, cached for good, no build step.

Theory of operation. Every file under a static root (``/static``, ``/sdk/cobrowse``) has a
*version*: the first hex digits of the SHA-256 of what is served for it. Pages and modules
are rewritten as they are served so that every reference to another static file names its
versioned URL, ``/_v/<version>/<url path>``:

- in HTML, ``src="/static/…"`` and ``href="/static/…"`` attributes;
- in JavaScript modules, the specifiers of ``import … from "…"``, ``import "…"`` and
  ``import("…")`` (relative ones resolved against the module's own path).

A module's served text holds its imports' versions, so its own version changes whenever a
module it imports changes: the versions form a hash tree and a browser never mixes an old
module with a new one. Versioned URLs are ``immutable`` for a year; pages and unversioned
URLs are ``no-cache`` with an ETag, so a reload revalidates them in one short request.
A page also lists every module its scripts import, directly or not, as
``<link rel="modulepreload">``: the browser fetches the whole graph at once instead of one
level of imports per round trip (modules loaded with ``import()`` are left out: they wait
for their moment). A versioned URL whose version is no longer current (a deploy happened
in between) gets the current file, not cached. Text is gzip-compressed once and kept in
memory; the cache is dropped whenever any file's size or modification time changes.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import posixpath
import re
from collections.abc import Mapping
from pathlib import Path

import attrs
from aiohttp import web

__all__ = ["StaticDelivery", "StaticFiles", "preload_json"]

VERSION_PREFIX = "/_v/"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
_COMPRESSIBLE = (
    "text/",
    "application/javascript",
    "application/json",
    "application/manifest+json",
    "image/svg+xml",
)
_MIN_COMPRESS_BYTES = 256
_HTML_REF = re.compile(r"""(?P<attr>\b(?:src|href)=)(?P<q>["'])(?P<url>/[^"'?#]+)(?P=q)""")
_JS_IMPORT = re.compile(
    r"""(?P<head>\bimport\s*\(\s*|\bfrom\s*|\bimport\s+)(?P<q>["'])(?P<spec>[^"'\n]+)(?P=q)"""
)
_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    # The staff pages' web app manifest, whatever the machine's mime.types says.
    ".webmanifest": "application/manifest+json",
}


@attrs.frozen
class StaticDelivery:
    """How pages and static files are delivered.

    Attributes:
        compress: gzip text for browsers that accept it.
        versioned: rewrite references to content-hashed, immutable URLs.
        eager: module URLs every page loads at once (turns lazy loading off: benchmarks).
    """

    compress: bool = True
    versioned: bool = True
    eager: tuple[str, ...] = ()


@attrs.frozen
class _Served:
    body: bytes
    gzipped: bytes | None
    content_type: str
    version: str
    #: The static files it imports (``import … from``), as unversioned URL paths.
    imports: tuple[str, ...] = ()


class StaticFiles:
    """Serves the pages, the static roots (every file under each) and single files (a URL
    path each, nothing beside them) as ``StaticDelivery`` says."""

    def __init__(
        self,
        roots: Mapping[str, Path],
        delivery: StaticDelivery | None = None,
        *,
        files: Mapping[str, Path] | None = None,
    ) -> None:
        self.roots = {prefix.rstrip("/"): path.resolve() for prefix, path in roots.items()}
        self.files = {url_path: path.resolve() for url_path, path in (files or {}).items()}
        self.delivery = delivery or StaticDelivery()
        self._served: dict[str, _Served] = {}
        self._signature: tuple[tuple[str, int, int], ...] = ()

    # ---- what a URL path is ------------------------------------------------------------

    def _file(self, url_path: str) -> Path | None:
        single = self.files.get(url_path)
        if single is not None:
            return single if single.is_file() else None
        for prefix, root in self.roots.items():
            if url_path.startswith(prefix + "/"):
                candidate = (root / url_path[len(prefix) + 1 :]).resolve()
                if candidate.is_relative_to(root) and candidate.is_file():
                    return candidate
        return None

    def _fresh(self) -> None:
        """Drop everything built when any file under a root changed."""
        signature = tuple(
            (str(path), stat.st_size, stat.st_mtime_ns)
            for root in self.roots.values()
            for path in sorted(root.rglob("*"))
            if path.is_file() and (stat := path.stat())
        ) + tuple(
            (str(path), stat.st_size, stat.st_mtime_ns)
            for path in self.files.values()
            if path.is_file() and (stat := path.stat())
        )
        if signature != self._signature:
            self._served.clear()
            self._signature = signature

    def _build(self, url_path: str, file: Path, building: frozenset[str] = frozenset()) -> _Served:
        served = self._served.get(url_path)
        if served is not None:
            return served
        raw = file.read_bytes()
        content_type = _TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0]
        content_type = content_type or "application/octet-stream"
        body = raw
        imports: list[str] = []
        if self.delivery.versioned:
            if content_type == "text/javascript":
                body = self._rewrite_module(url_path, raw, building | {url_path}, imports)
            elif content_type == "text/html":
                body = self._rewrite_html(raw, building | {url_path}, imports)
                body = self._with_preloads(body, imports)
        if content_type == "text/html" and self.delivery.eager:
            tags = "".join(
                f'<script type="module" src="{url}"></script>' for url in self.delivery.eager
            )
            body = body.replace(b"</body>", tags.encode() + b"</body>", 1)
        if content_type.startswith("text/"):
            content_type += "; charset=utf-8"
        gzipped = None
        if (
            self.delivery.compress
            and content_type.startswith(_COMPRESSIBLE)
            and len(body) >= _MIN_COMPRESS_BYTES
        ):
            gzipped = gzip.compress(body, compresslevel=9, mtime=0)
        version = hashlib.sha256(body).hexdigest()[:12]
        served = _Served(body, gzipped, content_type, version, tuple(imports))
        self._served[url_path] = served
        return served

    def _versioned(self, url_path: str, building: frozenset[str]) -> str | None:
        file = self._file(url_path)
        if file is None or url_path in building:  # a cycle keeps its plain URL
            return None
        return f"{VERSION_PREFIX}{self._build(url_path, file, building).version}{url_path}"

    def _with_preloads(self, page: bytes, scripts: list[str]) -> bytes:
        found: list[str] = []
        pending = [p for p in scripts if p.endswith(".js")]
        while pending:
            path = pending.pop()
            served = self._served.get(path)
            if path in found or served is None:
                continue
            found.append(path)
            pending += served.imports
        links = "".join(
            f'<link rel="modulepreload" href="{VERSION_PREFIX}{self._served[p].version}{p}">'
            for p in sorted(set(found) - set(scripts))
        )
        return page.replace(b"</head>", links.encode() + b"</head>", 1)

    def _rewrite_html(self, raw: bytes, building: frozenset[str], refs: list[str]) -> bytes:
        def swap(match: re.Match[str]) -> str:
            refs.append(match["url"])
            url = self._versioned(match["url"], building)
            return (
                match.group(0) if url is None else f"{match['attr']}{match['q']}{url}{match['q']}"
            )

        return _HTML_REF.sub(swap, raw.decode("utf-8")).encode("utf-8")

    def _rewrite_module(
        self, url_path: str, raw: bytes, building: frozenset[str], imports: list[str]
    ) -> bytes:
        def swap(match: re.Match[str]) -> str:
            spec = match["spec"]
            if spec.startswith(("./", "../")):
                target = posixpath.normpath(posixpath.join(posixpath.dirname(url_path), spec))
            elif spec.startswith("/") and not spec.startswith("//"):
                target = spec
            else:
                return match.group(0)
            if not match["head"].startswith("import("):
                imports.append(target)
            url = self._versioned(target, building)
            return (
                match.group(0) if url is None else f"{match['head']}{match['q']}{url}{match['q']}"
            )

        return _JS_IMPORT.sub(swap, raw.decode("utf-8")).encode("utf-8")

    # ---- answering -----------------------------------------------------------------------

    def url(self, url_path: str) -> str:
        """The URL pages should use for a static file (versioned when delivery says so)."""
        self._fresh()
        if not self.delivery.versioned:
            return url_path
        return self._versioned(url_path, frozenset()) or url_path

    def respond(self, request: web.Request, url_path: str) -> web.StreamResponse:
        """The file at ``url_path`` (unversioned), or a versioned ``/_v/<version>/…`` URL."""
        self._fresh()
        wanted: str | None = None
        if url_path.startswith(VERSION_PREFIX):
            wanted, _, rest = url_path[len(VERSION_PREFIX) :].partition("/")
            url_path = "/" + rest
        file = self._file(url_path)
        if file is None:
            raise web.HTTPNotFound()
        served = self._build(url_path, file)
        cache = IMMUTABLE if wanted == served.version else REVALIDATE
        return self._answer(request, served, cache)

    def page(self, request: web.Request, file: Path) -> web.StreamResponse:
        """A page (HTML outside the static roots' URLs), revalidated on every visit."""
        self._fresh()
        served = self._build(f"page:{file}", file)
        return self._answer(request, served, REVALIDATE)

    def _answer(self, request: web.Request, served: _Served, cache: str) -> web.StreamResponse:
        use_gzip = served.gzipped is not None and "gzip" in request.headers.get(
            "Accept-Encoding", ""
        )
        etag = f'"{served.version}{"-gz" if use_gzip else ""}"'
        headers = {"Cache-Control": cache, "ETag": etag}
        if served.gzipped is not None:
            headers["Vary"] = "Accept-Encoding"
        if etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=headers)
        headers["Content-Type"] = served.content_type
        if use_gzip:
            headers["Content-Encoding"] = "gzip"
        body = served.gzipped if use_gzip and served.gzipped is not None else served.body
        return web.Response(body=body, headers=headers)


def preload_json(response: web.StreamResponse, url: str) -> None:
    """Ask the browser to fetch ``url`` along with the page (a ``Link: rel=preload``
    header): a script's ``fetch(url)`` without extra headers then takes the preloaded
    answer instead of waiting for the page's modules to start the request."""
    response.headers.add("Link", f"<{url}>; rel=preload; as=fetch; crossorigin=anonymous")
