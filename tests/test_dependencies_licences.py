"""The SDK is Apache-2.0: no runtime dependency may carry a strong copyleft licence."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _licence(name: str) -> str:
    meta = importlib.metadata.metadata(name)
    classifiers = [c for c in meta.get_all("Classifier") or [] if c.startswith("License")]
    return " ".join([meta.get("License-Expression") or "", meta.get("License") or "", *classifiers])


def test_no_runtime_dependency_is_gpl() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    copyleft = []
    for requirement in project["dependencies"]:
        name = re.split(r"[\[=<>!~ ;]", requirement, maxsplit=1)[0]
        licence = _licence(name)
        # LGPL (psycopg, linked as a library) is fine; GPL and AGPL are not.
        without_lesser = re.sub(r"LGPL|Lesser General Public|Library General Public", "", licence)
        if re.search(r"\bA?GPL|General Public License", without_lesser):
            copyleft.append(f"{name}: {licence}")
    assert not copyleft, copyleft
