"""The backup screen (数据备份与恢复) in a real browser at 1366×768: a backup made now and
verified, a damaged file shown as damaged (and not offered for restore), and a restore
of a chosen backup only after a confirmation — the data as it was is kept as a backup
first, and the desk then works on the restored data."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Dialog, Page, expect

from .kiosk_world import RunningKiosk, open_desk_page

pytestmark = pytest.mark.e2e


@pytest.fixture
def page(browser: Any, kiosk: RunningKiosk) -> Iterator[Page]:
    yield from open_desk_page(browser, kiosk)


def test_back_up_now_and_restore_a_chosen_backup(page: Page, kiosk: RunningKiosk) -> None:
    kiosk.run(kiosk.desk.customers.capture("13800138000"))
    page.get_by_role("tab", name="数据备份").click()
    rows = page.locator("#backups tbody tr")
    expect(rows).to_have_text(["还没有备份"])
    page.get_by_role("button", name="立即备份").click()
    expect(page.locator("#backup-result")).to_have_text(
        "备份完成并已校验：merchant-20260306-120000.db"
    )
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("merchant-20260306-120000.db")
    expect(rows.first).to_contain_text("完好")

    # After the backup: another customer; and a damaged file in the folder.
    kiosk.run(kiosk.desk.customers.capture("13900139000"))
    (kiosk.folder / "backups" / "merchant-20260101-000000.db").write_bytes(b"not a database" * 100)
    page.get_by_role("tab", name="数据备份").click()
    damaged = rows.filter(has_text="merchant-20260101-000000.db")
    expect(damaged).to_contain_text("已损坏")
    expect(damaged.get_by_role("button", name="恢复")).to_have_count(0)

    good = rows.filter(has_text="merchant-20260306-120000.db")
    asked: list[str] = []

    def decline(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", decline)
    good.get_by_role("button", name="恢复").click()
    expect(rows).to_have_count(2)
    assert asked and "merchant-20260306-120000.db" in asked[0] and "当前数据会先另存为" in asked[0]
    assert kiosk.run(kiosk.desk.customers.by_phone("13900139000")) is not None

    page.once("dialog", lambda dialog: dialog.accept())
    good.get_by_role("button", name="恢复").click()
    expect(page.locator("#backup-result")).to_contain_text(
        "恢复前的数据已另存为 merchant-before-restore-20260306-120000.db"
    )
    expect(rows).to_have_count(3)
    expect(rows.filter(has_text="merchant-before-restore-")).to_contain_text("完好")
    # The desk works on the restored data: the customer added after the backup is gone.
    assert kiosk.run(kiosk.desk.customers.by_phone("13900139000")) is None
    assert kiosk.run(kiosk.desk.customers.by_phone("13800138000")) is not None


def _grow(kiosk: RunningKiosk, customers: int) -> None:
    """A shop's worth of customers with long notes (several MB: many pages to copy)."""
    import sqlite3

    conn = sqlite3.connect(kiosk.folder / "desk.db", timeout=10)
    try:
        conn.executemany(
            "INSERT INTO merchant_customers (phone, name, notes, initials, opted_out,"
            " created_ms, updated_ms) VALUES (?, ?, ?, '', 0, 0, 0)",
            [(f"135{n:08d}", f"客户{n}", "口味偏辣，常订包间。" * 150) for n in range(customers)],
        )
        conn.commit()
    finally:
        conn.close()


def test_a_restore_shows_each_step_and_its_progress(page: Page, kiosk: RunningKiosk) -> None:
    _grow(kiosk, 1500)
    assert kiosk.api.backups is not None
    made = kiosk.run(kiosk.api.backups.back_up())
    page.get_by_role("tab", name="数据备份").click()
    rows = page.locator("#backups tbody tr")
    expect(rows).to_have_count(1)
    # What the desk sees while the restore runs: every text and bar value shown.
    page.evaluate(
        """() => {
          window.seen = [];
          const note = () => window.seen.push([
            document.querySelector('#backup-result').textContent,
            document.querySelector('#backup-progress').hidden,
            document.querySelector('#backup-progress').value,
          ]);
          new MutationObserver(note).observe(document.querySelector('#backup-result'),
            { childList: true, characterData: true, subtree: true });
        }"""
    )
    page.once("dialog", lambda dialog: dialog.accept())
    rows.filter(has_text=made.name).get_by_role("button", name="恢复").click()
    expect(page.locator("#backup-result")).to_contain_text("恢复前的数据已另存为")
    expect(page.locator("#backup-progress")).to_be_hidden()
    seen: list[tuple[str, bool, float]] = [tuple(s) for s in page.evaluate("window.seen")]
    texts = [text for text, _, _ in seen]
    assert "第 1/3 步：正在校验所选备份…" in texts, texts
    keeping = [s for s in seen if s[0].startswith("第 2/3 步：正在另存当前数据：")]
    restoring = [s for s in seen if s[0].startswith("第 3/3 步：正在恢复数据并校验：")]
    # Page by page: each step shows percentages on the way, on a visible bar that only grows.
    assert any(not text.endswith(("：0%", "：100%")) for text, _, _ in keeping), texts
    assert any(not text.endswith(("：0%", "：100%")) for text, _, _ in restoring), texts
    shown = [s for s in seen if s[0].startswith("第 ")]
    assert all(not hidden for _, hidden, _ in shown)
    values = [value for _, _, value in shown]
    assert values == sorted(values) and values[-1] > values[0], values
