"""Attacks on the desk's backup screen through the desk API.

Attacks covered:
1. Path traversal in the backup to restore (``../desk.db``, an absolute path, a
   ``merchant-…`` name with a slash) to overwrite the desk's data with any file the
   user can reach: refused, the current data untouched and no extra backup made.
2. Restoring a damaged file planted in the backup folder: refused before anything is
   changed (the current data stays and no before-restore backup is made).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from zhanye_sdk.api.merchant import MerchantApi

from ..kiosk_world import desk_api, desk_request

pytestmark = pytest.mark.anyio


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[MerchantApi]:
    async with desk_api(tmp_path, backups=tmp_path / "backups") as opened:
        yield opened


async def restore(api: MerchantApi, name: str) -> int:
    path = f"/api/desk/backups/{quote(name, safe='')}/restore"
    return (await desk_request(api, "POST", path, {})).status


@pytest.mark.parametrize(
    "name", ["../desk.db", "/etc/passwd", "merchant-x.db/../../desk.db", "merchant-..db", "desk.db"]
)
async def test_traversal_restores_nothing(api: MerchantApi, name: str, tmp_path: Any) -> None:
    await api.desk.customers.capture("13800138000")
    assert await restore(api, name) in (400, 404)
    assert await api.desk.customers.by_phone("13800138000") is not None
    folder = tmp_path / "backups"
    assert not folder.exists() or not list(folder.iterdir())  # no before-restore backup


async def test_a_damaged_backup_changes_nothing(api: MerchantApi, tmp_path: Path) -> None:
    await api.desk.customers.capture("13800138000")
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "merchant-20260101-000000.db").write_bytes(b"junk" * 1000)
    assert await restore(api, "merchant-20260101-000000.db") == 400
    assert await api.desk.customers.by_phone("13800138000") is not None
    assert [p.name for p in folder.iterdir()] == ["merchant-20260101-000000.db"]
