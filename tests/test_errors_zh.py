"""Errors a person can cause carry a Chinese message next to the English one (SPEC §7)."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

import zhanye_sdk
from zhanye_sdk.api.http import error_response
from zhanye_sdk.errors import DeviceError, InvalidInput, ZhanyeError
from zhanye_sdk.materials.service import check_link_url
from zhanye_sdk.merchant.bulk import render
from zhanye_sdk.merchant.money import parse_money, parse_rate, settle
from zhanye_sdk.platform.validation import (
    check_login,
    check_name,
    check_password,
    normalize_phone,
)
from zhanye_sdk.records.models import RecordFilter
from zhanye_sdk.signaling.envelope import ServerMessage
from zhanye_sdk.sop.expression import parse_expression
from zhanye_sdk.sop.models import pages_from

CJK = re.compile(r"[\u4e00-\u9fff]")
PACKAGE = Path(zhanye_sdk.__file__).parent


def test_the_english_message_stays_and_old_raises_keep_working() -> None:
    plain = InvalidInput("bad value")
    assert str(plain) == "bad value" and plain.zh is None
    told = InvalidInput("password too short", zh="密码太短")
    assert str(told) == "password too short" and told.zh == "密码太短"
    assert isinstance(told, ValueError)
    device = DeviceError("modem gone", code=14, zh="设备已断开")
    assert (str(device), device.code, device.zh) == ("modem gone", 14, "设备已断开")
    assert ZhanyeError().zh is None


def _refusal(action: Callable[[], object]) -> ZhanyeError:
    with pytest.raises(ZhanyeError) as caught:
        action()
    return caught.value


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        (lambda: check_login("a"), "登录账号“a”无效"),
        (lambda: check_name("", what="organization name"), "机构名称须为 1–64 个字符"),
        (lambda: normalize_phone("12345"), "手机号“12345”无效"),
        (lambda: check_password("short"), "密码须为 8–128 位"),
        (lambda: check_password("abcdefgh"), "字母和数字"),
        (lambda: parse_money("1.234", "paid"), "实收金额须不小于 0，最多两位小数，当前为“1.234”"),
        (lambda: parse_rate("1.5"), "折扣“1.5”无效"),
        (lambda: settle(Decimal("10.00"), Decimal(1), Decimal("5.00")), "实收 5.00 元少于应付"),
        (lambda: render("{phone}好", None, datetime(2027, 1, 1).date()), "占位符 {phone}"),
        (lambda: check_link_url("ftp://example.com/a"), "http:// 或 https://"),
        (lambda: pages_from("3-1"), "页码范围 3-1 无效"),
        (lambda: parse_expression("保本 and"), "表达式“保本 and”"),
        (
            lambda: RecordFilter(
                created_from=datetime(2027, 1, 2, tzinfo=UTC),
                created_before=datetime(2027, 1, 1, tzinfo=UTC),
                score=9,
            ).checked(),
            "开始时间须早于结束时间；评分须为 1–5 的整数",
        ),
    ],
)
def test_user_facing_refusals_say_it_in_chinese_with_the_values(
    action: Callable[[], object], expected: str
) -> None:
    refused = _refusal(action)
    assert refused.zh is not None and expected in refused.zh
    assert str(refused) and str(refused) != refused.zh  # the English message stays


def test_the_chinese_message_travels_in_api_bodies_and_error_frames() -> None:
    refused = _refusal(lambda: check_password("short"))
    body = error_response(refused).json()["error"]
    assert body["message"] == "password must be 8–128 characters"
    assert body["message_zh"] == refused.zh
    frame = ServerMessage.decode(ServerMessage.error("refused", "no", "c-1", zh="不行").encode())
    assert frame.data == {"code": "refused", "message": "no", "message_zh": "不行"}
    bare = ServerMessage.error("invalid_message", "bad frame", "c-2")
    assert "message_zh" not in bare.data


def _zh_texts(node: ast.expr) -> list[str]:
    """The literal parts of a ``zh=`` value (a string, an f-string, or a concatenation)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return ["".join(v.value for v in node.values if isinstance(v, ast.Constant))]
    if isinstance(node, ast.BinOp):
        return _zh_texts(node.left) + _zh_texts(node.right)
    return []


def test_every_chinese_message_in_the_sdk_is_chinese() -> None:
    found = 0
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            for keyword in node.keywords:
                if keyword.arg != "zh" or (
                    isinstance(keyword.value, ast.Constant) and keyword.value.value is None
                ):
                    continue
                texts = _zh_texts(keyword.value)
                if not texts and isinstance(keyword.value, ast.Name | ast.Attribute):
                    continue  # passed along (zh=zh, zh=exc.zh)
                where = f"{path.relative_to(PACKAGE)}:{node.lineno}"
                assert texts, f"{where}: zh= must be written out"
                assert CJK.search("".join(texts)), f"{where}: zh= has no Chinese"
                found += 1
    assert found > 150
