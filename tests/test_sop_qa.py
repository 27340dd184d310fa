"""Quality inspection: each rule kind, expressions, roles, deductions, pass/fail, evidence."""

from __future__ import annotations

import pytest

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.sop import QaRule, QualityInspector, TranscriptSegment
from zhanye_sdk.sop.expression import And, Not, Or, Phrase, Regex, parse_expression


def seg(
    uid: str, text: str, start: int, end: int, speaker: str = "salesperson"
) -> TranscriptSegment:
    return TranscriptSegment(uid, text, start, end, speaker)


def run(rules: list[QaRule], *segments: TranscriptSegment) -> tuple[list, object]:
    inspector = QualityInspector(rules)
    alerts = []
    for s in segments:
        inspector.receive(s)
        alerts.extend(inspector.events())
    return alerts, inspector.report()


def test_expression_grammar_and_precedence() -> None:
    assert parse_expression('保本 and (保息 or "稳赚") and not 风险') == And(
        (Phrase("保本"), Or((Phrase("保息"), Phrase("稳赚"))), Not(Phrase("风险")))
    )
    assert parse_expression("a | b & !c") == Or((Phrase("a"), And((Phrase("b"), Not(Phrase("c"))))))
    assert parse_expression("/保证.{0,3}收益/") == Regex("保证.{0,3}收益")


@pytest.mark.parametrize("bad", ["", "a and", "(a or b", "a )", "/[/", '""'])
def test_bad_expressions_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput, match="expression"):
        parse_expression(bad)


def test_rule_validation_lists_every_problem() -> None:
    with pytest.raises(InvalidInput) as info:
        QaRule("r", "bad", "silence", severity="fatal", deduction=200)  # type: ignore[arg-type]
    message = str(info.value)
    assert "severity" in message and "deduction" in message and "max_silence_ms" in message


def test_forbidden_phrase_alerts_live_with_evidence_and_critical_fails() -> None:
    rule = QaRule(
        "f",
        "承诺保本保息",
        "forbidden",
        severity="critical",
        deduction=30,
        expression="(保本 and 保息) or /保证.{0,3}收益/",
    )
    alerts, report = run(
        [rule],
        seg("u1", "您好，我先介绍一下", 0, 1000),
        seg("u2", "这个产品保证年化收益百分之五", 1000, 3000),
        seg("u3", "而且保本，保息", 3000, 4000),
        seg("u4", "好的我了解", 4000, 5000),
    )
    assert [(a.rule_id, a.time_ms, a.speaker, a.text) for a in alerts] == [
        ("f", 1000, "salesperson", "这个产品保证年化收益百分之五"),
        ("f", 3000, "salesperson", "而且保本，保息"),
    ]
    assert report.score == 40 and report.deductions == 60
    assert report.passed is False


def test_forbidden_phrase_heard_as_homophone_still_alerts() -> None:
    rule = QaRule("f", "稳赚不赔", "forbidden", expression="稳赚不赔")
    alerts, _ = run([rule], seg("u1", "这个绝对吻赚不赔的", 0, 1000))
    assert [a.rule_id for a in alerts] == ["f"]


def test_speaker_role_limits_a_rule() -> None:
    rule = QaRule("f", "保本", "forbidden", expression="保本保息", role="salesperson")
    alerts, report = run([rule], seg("u1", "你们保本保息吗", 0, 1000, speaker="customer"))
    assert alerts == [] and report.score == 100 and report.passed


def test_mandatory_disclosures_missing_are_reported() -> None:
    rules = [
        QaRule("m1", "风险揭示", "mandatory", expression="风险揭示", node="产品推荐", deduction=10),
        QaRule("m2", "犹豫期说明", "mandatory", expression="犹豫期 or 冷静期", deduction=15),
        QaRule("m3", "身份核验", "mandatory", expression="/身份证/", severity="critical"),
    ]
    _, report = run(
        rules, seg("u1", "下面做一下风险", 0, 1000), seg("u2", "揭示，请出示身份证", 1000, 2000)
    )
    assert report.missing_mandatory == ("犹豫期说明",)
    assert report.score == 85 and report.passed


def test_required_order() -> None:
    rule = QaRule("o", "先测评后推荐", "order", order=("风险测评", "产品推荐"), deduction=8)
    alerts, report = run(
        [rule], seg("u1", "我直接给您产品推荐", 0, 1000), seg("u2", "再补一个风险测评", 5000, 6000)
    )
    assert [(a.rule_id, a.time_ms, a.detail) for a in alerts] == [
        ("o", 5500, "产品推荐 said before 风险测评")
    ]
    assert report.score == 92
    in_order, report = run(
        [rule], seg("u1", "先做风险测评", 0, 1000), seg("u2", "再做产品推荐", 5000, 6000)
    )
    assert in_order == [] and report.score == 100


def test_long_silence_and_speech_rate() -> None:
    rules = [
        QaRule("s", "长时间静默", "silence", max_silence_ms=5000, deduction=2, max_deduction=3),
        QaRule("r", "语速过快", "speech_rate", max_cpm=300, deduction=5),
    ]
    alerts, report = run(
        rules,
        seg("u1", "您好", 0, 1000),
        seg("u2", "您好", 7000, 8000),
        seg("u3", "我们这款产品非常适合您的家庭资产配置需求", 20_000, 22_000),
    )
    assert [a.rule_id for a in alerts] == ["s", "s", "r"]
    assert report.silences == ((1000, 7000), (8000, 20_000))
    # Silence deductions are capped at 3, the rate adds 5.
    assert report.deductions == 8 and report.score == 92
    assert report.speech_rate_cpm["salesperson"] > 300
