"""Customer book import and export: template, per-row errors, nothing valid lost."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from zhanye_sdk.clock import ManualClock
from zhanye_sdk.merchant import MerchantDesk
from zhanye_sdk.merchant.transfer import export_customers, import_customers, template

pytestmark = pytest.mark.anyio


async def test_csv_import_keeps_good_rows_and_reports_bad_ones(tmp_path: Path) -> None:
    desk = await MerchantDesk.open(f"sqlite:///{tmp_path}/d.db", clock=ManualClock())
    try:
        existing, _ = await desk.customers.capture("13800138000")
        lines = [
            "手机号,姓名,性别,分组,生日,备注",
            "13800138000,张三,男,老客户、VIP,1990-03-07,喜欢靠窗",
            "not-a-phone,李四,男,,,",
            "13900139000,王五,女,老客户,1991/02/03,",
            "",
            "13700137000,赵六,,新客户,,",
        ]
        data = "\n".join(lines).encode("gb18030")  # as Excel saves Chinese CSV
        report = await import_customers(desk.customers, data, "csv")
        assert (report.created, report.updated) == (1, 1)
        assert [
            (e.row, "phone" in e.message or "birthday" in e.message) for e in report.errors
        ] == [
            (3, True),
            (4, True),
        ]
        zhang = await desk.customers.get(existing.id)
        assert (zhang.name, zhang.groups, zhang.birthday) == (
            "张三",
            ("VIP", "老客户"),
            "1990-03-07",
        )
        assert [c.name for c in await desk.customers.group_members("新客户")] == ["赵六"]

        exported = (await export_customers(desk.customers, "csv")).decode("utf-8")
        assert exported.startswith("\ufeff手机号,姓名")
        rows = list(csv.reader(io.StringIO(exported.lstrip("\ufeff"))))
        assert [r[0] for r in rows[1:]] == ["13800138000", "13700137000"]
        assert {r[1] for r in rows[1:]} >= {"张三", "赵六"}
    finally:
        await desk.close()


async def test_xlsx_template_round_trip(tmp_path: Path) -> None:
    desk = await MerchantDesk.open(f"sqlite:///{tmp_path}/d.db", clock=ManualClock())
    try:
        sheet = template("xlsx")
        header = next(load_workbook(io.BytesIO(sheet)).worksheets[0].iter_rows(values_only=True))
        assert header[:2] == ("手机号", "姓名")
        report = await import_customers(desk.customers, sheet, "xlsx")
        assert (report.created, report.errors) == (1, ())
        again = await import_customers(
            desk.customers, await export_customers(desk.customers, "xlsx"), "xlsx"
        )
        assert (again.created, again.updated) == (0, 1)
        with pytest.raises(Exception, match="XLSX"):
            await import_customers(desk.customers, b"PK\x03\x04 not really", "xlsx")
    finally:
        await desk.close()
