"""Customer book import and export (CSV and XLSX), with a template to fill in.

Headers are the Chinese column names of the template (the English field names are
accepted too). Every row is checked on its own: bad rows are reported with their row
number and reason, good rows are imported (a known number is updated, not duplicated).
CSV is written as UTF-8 with a BOM so Excel shows Chinese; CSV from Excel in GB18030 is
read as well.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from typing import Any

import attrs

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.merchant.book import CustomerBook

__all__ = [
    "COLUMNS",
    "ImportReport",
    "RowError",
    "encode_sheet",
    "export_customers",
    "import_customers",
    "template",
]

#: (field, 中文表头)
COLUMNS: tuple[tuple[str, str], ...] = (
    ("phone", "手机号"),
    ("name", "姓名"),
    ("gender", "性别"),
    ("group", "分组"),
    ("company", "单位"),
    ("customer_type", "客户类型"),
    ("birthday", "生日"),
    ("notes", "备注"),
)
MAX_ROWS = 20_000


@attrs.frozen
class RowError:
    """Why one row was not imported (rows count from 2: row 1 is the header)."""

    row: int
    message: str
    #: The same reason in Chinese, when there is one.
    message_zh: str | None = None


@attrs.frozen
class ImportReport:
    """What an import did."""

    created: int
    updated: int
    errors: tuple[RowError, ...]


def _csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _xlsx_bytes(rows: list[list[str]], title: str = "客户资料") -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _encode(rows: list[list[str]], fmt: str, title: str = "客户资料") -> bytes:
    if fmt == "csv":
        return _csv_bytes(rows)
    if fmt == "xlsx":
        return _xlsx_bytes(rows, title)
    raise InvalidInput("format is csv or xlsx", zh="文件格式须为 csv 或 xlsx")


def encode_sheet(rows: list[list[str]], fmt: str, title: str) -> bytes:
    """Rows as a CSV (UTF-8 with a BOM, for Excel) or an XLSX sheet named ``title``.

    Raises:
        InvalidInput: another format.
    """
    return _encode(rows, fmt, title)


def template(fmt: str) -> bytes:
    """An empty sheet with the headers and one example row."""
    example = ["13800138000", "张三", "男", "老客户", "某某公司", "散客", "1990-03-07", "喜欢靠窗"]
    return _encode([[title for _, title in COLUMNS], example], fmt)


async def export_customers(book: CustomerBook, fmt: str) -> bytes:
    """Every customer, one row each, in the template's columns."""
    rows = [[title for _, title in COLUMNS]]
    for customer in await book.all():
        rows.append(
            [
                customer.phone,
                customer.name or "",
                customer.gender or "",
                "、".join(customer.groups),
                customer.company or "",
                customer.customer_type or "",
                customer.birthday or "",
                customer.notes or "",
            ]
        )
    return _encode(rows, fmt)


def _cell_text(value: object) -> str:
    """A spreadsheet cell as the text the shop sees: a date cell (typed as a date in
    Excel) is its day, YYYY-MM-DD; a number cell holding a phone number has no ".0"."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_rows(data: bytes, fmt: str) -> list[list[str]]:
    if fmt == "csv":
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise InvalidInput(
                "the CSV file is neither UTF-8 nor GB18030 text",
                zh="无法读取该 CSV 文件：请另存为 UTF-8 或 GB18030 编码后重试",
            )
        return [list(r) for r in csv.reader(io.StringIO(text))]
    if fmt == "xlsx":
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a bad file
            raise InvalidInput(
                f"the file is not a readable XLSX workbook: {exc}",
                zh="无法读取该 XLSX 文件，请确认文件完好后重试",
            ) from exc
        sheet = book.worksheets[0]
        return [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    raise InvalidInput("format is csv or xlsx", zh="文件格式须为 csv 或 xlsx")


def split_groups(text: str) -> list[str]:
    """The groups of a cell: separated by 、 , ， ; or ；."""
    return [g for g in re.split(r"[、,，;；]", text) if g.strip()]


async def import_customers(book: CustomerBook, data: bytes, fmt: str) -> ImportReport:
    """Import customers; bad rows are reported and skipped, good rows kept."""
    rows = _read_rows(data, fmt)
    if not rows:
        raise InvalidInput("the file is empty", zh="文件是空的，请按模板填写后再导入")
    if len(rows) > MAX_ROWS + 1:
        raise InvalidInput(
            f"at most {MAX_ROWS} rows per import",
            zh=f"每次最多导入 {MAX_ROWS} 行，请拆分文件后分批导入",
        )
    lookup = {title: field for field, title in COLUMNS} | {field: field for field, _ in COLUMNS}
    header = [lookup.get(h.strip()) for h in rows[0]]
    if "phone" not in header:
        raise InvalidInput(
            "the header row needs a 手机号 (phone) column; download the template",
            zh="表头缺少“手机号”列，请下载模板按模板填写",
        )
    created = updated = 0
    errors: list[RowError] = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        record: dict[str, Any] = {
            field: (row[i].strip() if i < len(row) else "")
            for i, field in enumerate(header)
            if field is not None
        }
        try:
            fields = {k: v for k, v in record.items() if k not in ("phone", "group") and v}
            groups = [g for g in split_groups(record.get("group", "")) if g.strip()]
            # One transaction per row: a row reported as not imported wrote nothing.
            _, new = await book.import_row(record.get("phone", ""), fields, groups)
        except InvalidInput as exc:
            errors.append(RowError(number, str(exc), exc.zh))
            continue
        created += int(new)
        updated += int(not new)
    return ImportReport(created, updated, tuple(errors))
