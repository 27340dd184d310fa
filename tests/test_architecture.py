"""The dependency direction of STYLE.md, checked over the SDK's import graph.

Every module under ``zhanye_sdk`` is parsed with ``ast``; each ``import`` anywhere in it
— at module level, inside a function (where a cycle likes to hide), or under
``TYPE_CHECKING`` — is an edge of the graph. The rules (``docs/architecture.md``):

* the ground (errors and their codes, the converter, the clock, the kernel backend)
  imports nothing above it;
* the platform layer imports only the ground and the store, never a service built on it;
* a sans-I/O core imports only the ground and other cores, and nothing that does I/O
  or reads a clock;
* no service imports an endpoint, and nothing in the SDK imports a host;
* the module graph has no cycles.

A second group of tests imports modules in a fresh interpreter and checks
``sys.modules``: a core or the ground must not load the media stack or the store.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "zhanye_sdk"

#: Imports nothing above itself.
GROUND = {
    "zhanye_sdk._backend",
    "zhanye_sdk._lazy",
    "zhanye_sdk._native",
    "zhanye_sdk.clock",
    "zhanye_sdk.error_codes",
    "zhanye_sdk.errors",
    "zhanye_sdk.lifecycle",
    "zhanye_sdk.ratelimit",
    "zhanye_sdk.wire",
}
GROUND_PACKAGES = ("zhanye_sdk.kernels",)
#: Shared infrastructure every service may use (STYLE.md counts it as ground, too).
INFRASTRUCTURE_PACKAGES = ("zhanye_sdk.store",)
INFRASTRUCTURE = {
    "zhanye_sdk.signaling.bus",
    "zhanye_sdk.signaling.envelope",
    "zhanye_sdk.signaling.handshake",
}
#: The sans-I/O cores, the pure helpers they are made of, and the pure data modules their
#: packages export beside them (the SOP library's types and flow outline).
CORES = {
    "zhanye_sdk.cluster.lease",
    "zhanye_sdk.cobrowse.core",
    "zhanye_sdk.devices.at",
    "zhanye_sdk.devices.at_errors",
    "zhanye_sdk.devices.gsm7",
    "zhanye_sdk.devices.pdu",
    "zhanye_sdk.rooms.core",
    "zhanye_sdk.sop.expression",
    "zhanye_sdk.sop.matcher",
    "zhanye_sdk.sop.models",
    "zhanye_sdk.sop.negation",
    "zhanye_sdk.sop.normalise",
    "zhanye_sdk.sop.outline",
    "zhanye_sdk.sop.pinyin",
    "zhanye_sdk.sop.qa",
    "zhanye_sdk.whiteboard.core",
}
#: What hosts mount: the HTTP endpoints and the WebSocket endpoint.
ENDPOINT_PACKAGES = ("zhanye_sdk.api",)
#: Each area's capability adapter (``<area>/capability.py``) bundles its service with its
#: endpoints, and the deployments assemble them: they sit with the endpoints.
ENDPOINTS = {
    "zhanye_sdk.capability",
    "zhanye_sdk.cluster.capability",
    "zhanye_sdk.cobrowse.capability",
    "zhanye_sdk.deployment",
    "zhanye_sdk.desk",
    "zhanye_sdk.devices.capability",
    "zhanye_sdk.materials.capability",
    "zhanye_sdk.media.capability",
    "zhanye_sdk.merchant.capability",
    "zhanye_sdk.records.capability",
    "zhanye_sdk.rooms.capability",
    "zhanye_sdk.signaling.account_events",
    "zhanye_sdk.signaling.endpoint",
    "zhanye_sdk.sop.capability",
    "zhanye_sdk.whiteboard.capability",
}
#: Above everything: may import anything in the SDK.
TOP = {"zhanye_sdk", "zhanye_sdk.cli"}

#: Modules whose presence means I/O, a clock or a heavy stack; no core imports one.
IO_MODULES = {
    "aiohttp",
    "aiortc",
    "aiosqlite",
    "anyio",
    "asyncio",
    "av",
    "http",
    "os",
    "selectors",
    "serial",
    "socket",
    "sqlalchemy",
    "sqlite3",
    "ssl",
    "subprocess",
    "threading",
    "time",
    "trio",
    "urllib",
}
HEAVY = ("aiortc", "av", "sqlalchemy")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    found = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    found["zhanye_sdk._native"] = PACKAGE / "_native.pyi"  # the extension, as its stub sees it
    return found


def _imports(name: str, tree: ast.AST, is_package: bool) -> Iterable[str]:
    """Every module ``tree`` imports, wherever the statement stands."""
    known = modules()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            for alias in node.names:
                # ``from zhanye_sdk.devices import gsm7`` imports the module gsm7.
                submodule = f"{target}.{alias.name}"
                yield submodule if submodule in known else target


@cache
def graph() -> dict[str, frozenset[str]]:
    """Each SDK module → the modules it imports (SDK and third-party alike)."""
    edges = {}
    for name, path in modules().items():
        if path.suffix == ".pyi":
            edges[name] = frozenset()
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        edges[name] = frozenset(_imports(name, tree, path.name == "__init__.py"))
    return edges


def _in(name: str, names: set[str], packages: tuple[str, ...] = ()) -> bool:
    return name in names or any(name == p or name.startswith(p + ".") for p in packages)


def is_ground(name: str) -> bool:
    return _in(name, GROUND, GROUND_PACKAGES)


def is_core(name: str) -> bool:
    return name in CORES


def is_endpoint(name: str) -> bool:
    return _in(name, ENDPOINTS, ENDPOINT_PACKAGES)


def sdk_imports(name: str) -> set[str]:
    # The package itself is the public API (lazy): naming it imports nothing of it.
    return {t for t in graph()[name] if t.startswith("zhanye_sdk.")}


def violations(members: Iterable[str], allowed: object) -> list[str]:
    return sorted(
        f"{name} imports {target}"
        for name in members
        for target in sdk_imports(name)
        if not allowed(target)  # type: ignore[operator]
    )


def test_the_graph_covers_the_package() -> None:
    names = set(graph())
    assert len(names) > 150
    for layer in (GROUND, CORES, ENDPOINTS, INFRASTRUCTURE):
        assert layer <= names, layer - names
    assert "zhanye_sdk.wire" in graph()["zhanye_sdk.platform.hours"]


def test_the_ground_imports_nothing_above_it() -> None:
    ground = [n for n in graph() if is_ground(n)]
    assert violations(ground, is_ground) == []


def test_the_platform_layer_imports_no_service() -> None:
    platform = [n for n in graph() if n.startswith("zhanye_sdk.platform")]

    def allowed(target: str) -> bool:
        return (
            is_ground(target)
            or _in(target, set(), INFRASTRUCTURE_PACKAGES)
            or target.startswith("zhanye_sdk.platform")
        )

    assert violations(platform, allowed) == []


def test_cores_import_no_service_store_or_io() -> None:
    assert violations(CORES, lambda t: is_ground(t) or is_core(t)) == []
    io = sorted(
        f"{name} imports {target}"
        for name in CORES
        for target in graph()[name]
        if target.split(".")[0] in IO_MODULES
    )
    assert io == []


def test_cores_read_no_clock() -> None:
    reads = []
    for name in CORES:
        tree = ast.parse(modules()[name].read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"now", "utcnow", "today", "monotonic", "time"}
            ):
                reads.append(f"{name}:{node.lineno} calls .{node.func.attr}()")
    assert reads == []


def test_no_service_imports_an_endpoint_and_nothing_imports_a_host() -> None:
    below_endpoints = [n for n in graph() if not is_endpoint(n) and n not in TOP]
    assert violations(below_endpoints, lambda t: not is_endpoint(t)) == []
    hosts = sorted(
        f"{name} imports {target}"
        for name, targets in graph().items()
        for target in targets
        if target == "hosts" or target.startswith("hosts.")
    )
    assert hosts == []


def test_the_module_graph_has_no_cycles() -> None:
    edges = {name: sdk_imports(name) & set(graph()) for name in graph()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(edges[name]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[name] = 2

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for name in sorted(edges):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_the_lazy_public_api_lists_every_name_where_type_checkers_see_it() -> None:
    # zhanye_sdk/__init__.py imports its names on first use; its TYPE_CHECKING imports
    # must name the same modules, or mypy and the runtime disagree.
    for package in ("zhanye_sdk", "zhanye_sdk.devices"):
        path = modules()[package]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typed = {
            alias.name: node.module
            for guard in tree.body
            if isinstance(guard, ast.If) and ast.unparse(guard.test) == "TYPE_CHECKING"
            for node in guard.body
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        }
        sources = next(
            ast.literal_eval(node.value)
            for node in tree.body
            if isinstance(node, ast.AnnAssign) and ast.unparse(node.target) == "_SOURCES"
        )
        assert typed == sources, package


def _loaded_after_import(module: str) -> dict[str, object]:
    probe = (
        f"import sys, time; start = time.perf_counter(); import {module}; "
        "import json; print(json.dumps({'seconds': time.perf_counter() - start, "
        f"'heavy': [m for m in {list(HEAVY)!r} if m in sys.modules], "
        "'package_loaded': sorted(m for m in sys.modules if m.startswith('zhanye_sdk'))}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize(
    "module",
    [
        "zhanye_sdk._backend",
        "zhanye_sdk.errors",
        "zhanye_sdk.wire",
        "zhanye_sdk.clock",
        "zhanye_sdk.devices.pdu",
        "zhanye_sdk.devices.at",
        "zhanye_sdk.rooms.core",
        "zhanye_sdk.cobrowse.core",
        "zhanye_sdk.whiteboard.core",
        "zhanye_sdk.sop.matcher",
    ],
)
def test_importing_the_ground_or_a_core_loads_no_media_stack_or_store(module: str) -> None:
    loaded = _loaded_after_import(module)
    assert loaded["heavy"] == [], loaded
    # Nor any service of the SDK: only the ground and the core's own modules.
    above = [
        m
        for m in loaded["package_loaded"]  # type: ignore[attr-defined]
        if not (is_ground(m) or is_core(m) or "." not in m or m.count(".") == 1)
    ]
    assert above == [], above


def test_the_public_names_still_resolve_after_a_cheap_import() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, zhanye_sdk; assert 'aiortc' not in sys.modules; "
            "from zhanye_sdk import MediaService, Platform, mix_minus; "
            "print(MediaService.__module__, Platform.__module__, 'aiortc' in sys.modules)",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["zhanye_sdk.media.service", "zhanye_sdk.facade", "True"]


def test_the_sms_gateway_seam_is_typed_everywhere() -> None:
    # Every parameter that takes a gateway names its type: ``SmsGateway`` to send, or a
    # narrower protocol (the desk runtime's outbox runner) — never ``Any``.
    loose = []
    for name, path in modules().items():
        if path.suffix == ".pyi":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.arg) and "gateway" in node.arg and node.arg != "gateway_id":
                annotation = ast.unparse(node.annotation) if node.annotation else "nothing"
                if re.search(r"\bAny\b", annotation) or annotation == "nothing":
                    loose.append(f"{name}:{node.lineno} {node.arg}: {annotation}")
    assert loose == []
    from zhanye_sdk import SmsGateway
    from zhanye_sdk.devices import LoggingSmsGateway

    assert LoggingSmsGateway(signature="小馆").signature == "小馆"
    assert SmsGateway.__module__ == "zhanye_sdk.devices.sms"


@pytest.mark.parametrize(
    "module",
    sorted(
        f"zhanye_sdk.{path.stem}"
        for path in (ROOT / "zhanye_sdk").glob("*.py")
        if not path.stem.startswith("__")
    )
    + ["zhanye_sdk.api", "zhanye_sdk.api.admin"],
)
def test_each_top_level_module_imports_first_in_a_fresh_interpreter(module: str) -> None:
    """An integrator may import any of these first; an import cycle shows only then."""
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
