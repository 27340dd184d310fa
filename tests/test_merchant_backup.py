"""Backups of the merchant database: verified copies, refused damaged restores, retention."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from zhanye_sdk.clock import ManualClock
from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.merchant import MerchantDesk
from zhanye_sdk.merchant.backup import (
    backup_database,
    due_for_backup,
    prune_backups,
    restore_database,
)

pytestmark = pytest.mark.anyio


async def seeded(path: Path) -> MerchantDesk:
    desk = await MerchantDesk.open(f"sqlite:///{path}", clock=ManualClock())
    for i in range(300):
        customer, _ = await desk.customers.capture(f"1380013{i:04d}")
        await desk.customers.update(customer.id, name=f"客户{i}")
    return desk


async def test_backup_damage_restore(tmp_path: Path) -> None:
    live = tmp_path / "desk.db"
    desk = await seeded(live)
    progress: list[tuple[int, int]] = []
    report = await backup_database(
        live, tmp_path / "backups" / "merchant-1.db", lambda d, t: progress.append((d, t))
    )
    await desk.close()
    assert report.row_counts["merchant_customers"] == 300
    assert progress and progress[-1][0] == progress[-1][1] > 0

    # Damage the live database, then restore it from the backup.
    with live.open("r+b") as f:
        f.seek(4096)
        f.write(os.urandom(8192))
    counts = await restore_database(report.path, live)
    assert counts["merchant_customers"] == 300
    desk = await MerchantDesk.open(f"sqlite:///{live}", clock=ManualClock())
    assert (await desk.customers.search("客户299"))[0].phone == "13800130299"
    await desk.close()


async def test_a_damaged_backup_is_refused_and_the_data_kept(tmp_path: Path) -> None:
    live = tmp_path / "desk.db"
    desk = await seeded(live)
    await desk.close()
    broken = tmp_path / "merchant-broken.db"
    broken.write_bytes(b"SQLite format 3\x00" + os.urandom(20_000))
    with pytest.raises(InvalidInput) as refused:
        await restore_database(broken, live)
    # The shopkeeper reads why, in Chinese, and that nothing changed.
    assert refused.value.zh is not None and "merchant-broken.db" in refused.value.zh
    assert "损坏" in refused.value.zh and "当前数据保持不变" in refused.value.zh
    not_ours = tmp_path / "other.db"
    import sqlite3

    sqlite3.connect(not_ours).execute("create table t(x)").connection.commit()
    with pytest.raises(InvalidInput, match="not a merchant desk") as refused:
        await restore_database(not_ours, live)
    assert refused.value.zh is not None and "不是商户管家的数据库" in refused.value.zh
    with pytest.raises(InvalidInput) as refused:
        await restore_database(tmp_path / "missing.db", live)
    assert refused.value.zh == "找不到备份文件“missing.db”"
    desk = await MerchantDesk.open(f"sqlite:///{live}", clock=ManualClock())
    assert len(await desk.customers.search("客户")) == 50  # the search's page size; all still there
    await desk.close()


def test_daily_schedule_and_retention(tmp_path: Path) -> None:
    now = datetime(2026, 3, 6, 10, 0, tzinfo=UTC)
    assert due_for_backup(None, now)
    assert not due_for_backup(datetime(2026, 3, 6, 3, 30, tzinfo=UTC), now)
    assert due_for_backup(datetime(2026, 3, 6, 2, 59, tzinfo=UTC), now)
    assert not due_for_backup(
        datetime(2026, 3, 5, 4, 0, tzinfo=UTC), datetime(2026, 3, 6, 2, 0, tzinfo=UTC)
    )
    for i in range(10):
        path = tmp_path / f"merchant-{i:02d}.db"
        path.write_bytes(b"x")
        os.utime(path, (1_700_000_000 + i, 1_700_000_000 + i))
    deleted = prune_backups(tmp_path, keep=7)
    assert sorted(p.name for p in deleted) == ["merchant-00.db", "merchant-01.db", "merchant-02.db"]
    assert len(list(tmp_path.glob("merchant-*.db"))) == 7


async def test_housekeeping_backs_up_once_a_day_and_greets(tmp_path: Path) -> None:
    from zhanye_sdk.devices.gateway import LoggingSmsGateway
    from zhanye_sdk.merchant.bulk import BulkSms, CareCalendar, CustomerCare
    from zhanye_sdk.merchant.housekeeping import Housekeeping
    from zhanye_sdk.merchant.registration import Registration

    live = tmp_path / "desk.db"
    clock = ManualClock(datetime(2026, 3, 7, 5, 0, tzinfo=UTC))
    desk = await MerchantDesk.open(f"sqlite:///{live}", clock=clock)
    try:
        guest, _ = await desk.customers.capture("13800138000")
        await desk.customers.update(guest.id, name="寿星", birthday="1990-03-07")
        gateway = LoggingSmsGateway()
        care = CustomerCare(desk, BulkSms(desk, gateway), CareCalendar())
        chores = Housekeeping(
            desk, live, tmp_path / "backups", care, lambda: Registration(True, quota_per_day=10)
        )
        made, greetings = await chores.run_once()
        assert made is not None and made.exists()
        assert greetings is not None and greetings.sent == ("13800138000",)
        clock.advance(3600)
        again, greetings = await chores.run_once()
        assert again is None and greetings is not None and greetings.sent == ()
        clock.advance(24 * 3600)
        assert (await chores.run_once())[0] is not None
        assert len(list((tmp_path / "backups").glob("merchant-*.db"))) == 2
    finally:
        await desk.close()
