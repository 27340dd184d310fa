"""Attacks on the desk's backup screen through the desk API.

Attacks covered:
1. Path traversal in the backup to restore (``../desk.db``, an absolute path, a
   ``merchant-…`` name with a slash) to overwrite the desk's data with any file the
   user can reach: refused, the current data untouched and no extra backup made.
2. Restoring a damaged file planted in the backup folder: refused before anything is
   changed (the current data stays and no before-restore backup is made).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from zhanye_sdk.api.http import ApiRequest
from zhanye_sdk.api.merchant import MerchantApi
from zhanye_sdk.clock import ManualClock
from zhanye_sdk.devices.gateway import LoggingSmsGateway
from zhanye_sdk.merchant import MerchantDesk
from zhanye_sdk.merchant.backups import DeskBackups
from zhanye_sdk.merchant.calldesk import CallDesk

pytestmark = pytest.mark.anyio

TOKEN = "desk-token-for-tests-0001"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[MerchantApi]:
    database = tmp_path / "desk.db"
    desk = await MerchantDesk.open(
        f"sqlite:///{database}", clock=ManualClock(datetime(2026, 3, 6, 4, tzinfo=UTC))
    )
    gateway = LoggingSmsGateway()
    backups = DeskBackups(desk, database, tmp_path / "backups")
    try:
        yield MerchantApi(
            desk,
            CallDesk(desk, gateway),
            None,
            gateway,
            desk_token=TOKEN,
            backups=backups,  # type: ignore[arg-type]
        )
    finally:
        await desk.close()


async def restore(api: MerchantApi, name: str) -> int:
    response = await api.handle(
        ApiRequest(
            "POST",
            f"/api/desk/backups/{quote(name, safe='')}/restore",
            headers={"Authorization": f"Bearer {TOKEN}"},
            body=json.dumps({}).encode(),
        )
    )
    return response.status


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
