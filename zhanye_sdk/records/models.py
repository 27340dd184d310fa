"""The session record's data types (SPEC C8, manual §4.4) and the list's search panel."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import attrs

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.rooms.core import RoomState
from zhanye_sdk.sop.steps import StepStatus, read_step_status

__all__ = [
    "AnnotatedPageRecord",
    "CustomerEvaluation",
    "AssessmentAnswer",
    "AssessmentRecord",
    "EvaluationFilter",
    "InsuredFilter",
    "ParticipantRecord",
    "QaReportRecord",
    "QaViolationRecord",
    "RecordFacets",
    "RecordFilter",
    "RecordPage",
    "RecordSummary",
    "SessionRecord",
    "SharedMaterialRecord",
    "SilenceRecord",
    "SopStepRecord",
    "VideoFilter",
]

MAX_KEYWORD = 64
MAX_ID = 32


class InsuredFilter(enum.StrEnum):
    """The 是否投保 filter: marked insured, marked not insured, or not marked yet."""

    YES = "yes"
    NO = "no"
    UNMARKED = "unmarked"


class VideoFilter(enum.StrEnum):
    """The 视频使用 filter: sessions with a video recording, or without one (the
    statistics count "sessions with video" the same way)."""

    USED = "used"
    UNUSED = "unused"


class EvaluationFilter(enum.StrEnum):
    """The 评价 filter: sessions some customer rated, or that no customer rated."""

    RATED = "rated"
    UNRATED = "unrated"


# Filter fields as the records page labels them.
_FIELD_ZH = {
    "created_from": "开始时间",
    "created_before": "结束时间",
    "participants_min": "最少人数",
    "participants_max": "最多人数",
    "org_id": "机构",
    "host_account_id": "业务员",
    "project": "项目",
    "keyword": "关键词",
    "customer_name": "客户姓名",
    "link_id": "会话链接",
}


@attrs.frozen
class RecordFilter:
    """The records list's search panel (every field optional; all given ones must match).

    Attributes:
        created_from: sessions created at or after this aware time.
        created_before: sessions created before this aware time (exclusive).
        org_id: the session's organization (所属机构).
        host_account_id: the staff member who hosted it (业务员).
        project: the session's project, exactly.
        participants_min, participants_max: how many people joined, host included (参会人数).
        keyword: part of the meeting number, the host's name or login, or the project.
        evaluation: rated by some customer, or by none.
        score: some customer gave exactly this score (1–5); implies rated.
        state: waiting, live or ended.
        link_id: the link material (H5 product or assessment) shared in it (会话链接).
        insured: the outcome marked on it (是否投保).
        customer_name: part of the name of a customer who joined (客户姓名).
        video: with or without a video recording (视频使用).
    """

    created_from: datetime | None = None
    created_before: datetime | None = None
    org_id: str | None = None
    host_account_id: str | None = None
    project: str | None = None
    participants_min: int | None = None
    participants_max: int | None = None
    keyword: str | None = None
    evaluation: EvaluationFilter | None = None
    score: int | None = None
    state: RoomState | None = None
    link_id: str | None = None
    insured: InsuredFilter | None = None
    customer_name: str | None = None
    video: VideoFilter | None = None

    def checked(self) -> RecordFilter:
        """The filter with text trimmed (blank means "any").

        Raises:
            InvalidInput: listing every field that is out of range or contradicts another.
        """
        problems: list[str] = []
        problems_zh: list[str] = []  # the same problems as pages say them

        def text(name: str, value: str | None, limit: int) -> str | None:
            if value is None:
                return None
            if not isinstance(value, str):
                problems.append(f"{name} must be text")
                problems_zh.append(f"{_FIELD_ZH[name]}必须是文字")
                return None
            value = value.strip()
            if len(value) > limit:
                problems.append(f"{name} must be at most {limit} characters")
                problems_zh.append(f"{_FIELD_ZH[name]}最多 {limit} 个字符")
            return value or None

        for name in ("created_from", "created_before"):
            moment = getattr(self, name)
            if moment is not None and (
                not isinstance(moment, datetime) or moment.utcoffset() is None
            ):
                problems.append(f"{name} must be a time with a time zone offset")
                problems_zh.append(f"{_FIELD_ZH[name]}须为带时区的时间")
        if (
            not problems
            and self.created_from is not None
            and self.created_before is not None
            and self.created_from >= self.created_before
        ):
            problems.append("created_from must be earlier than created_before")
            problems_zh.append("开始时间须早于结束时间")
        for name in ("participants_min", "participants_max"):
            count = getattr(self, name)
            if count is not None and (type(count) is not int or not 0 <= count <= 1000):
                problems.append(f"{name} must be a whole number from 0 to 1000")
                problems_zh.append(f"{_FIELD_ZH[name]}须为 0–1000 的整数")
        low, high = self.participants_min, self.participants_max
        if type(low) is int and type(high) is int and low > high:
            problems.append("participants_min must not be larger than participants_max")
            problems_zh.append("最少人数不能大于最多人数")
        if self.score is not None and (type(self.score) is not int or not 1 <= self.score <= 5):
            problems.append("score must be a whole number from 1 to 5")
            problems_zh.append("评分须为 1–5 的整数")
        if self.score is not None and self.evaluation is EvaluationFilter.UNRATED:
            problems.append("a score cannot be asked of unrated sessions")
            problems_zh.append("未评价的会话没有评分，请去掉评分条件或改选“已评价”")
        if self.evaluation is not None and not isinstance(self.evaluation, EvaluationFilter):
            problems.append("evaluation must be 'rated' or 'unrated'")
            problems_zh.append("评价条件须为“已评价”或“未评价”")
        if self.insured is not None and not isinstance(self.insured, InsuredFilter):
            problems.append("insured must be 'yes', 'no' or 'unmarked'")
            problems_zh.append("是否投保须为“已投保”“未投保”或“未标记”")
        if self.video is not None and not isinstance(self.video, VideoFilter):
            problems.append("video must be 'used' or 'unused'")
            problems_zh.append("视频使用须为“有视频”或“无视频”")
        if self.state is not None and not isinstance(self.state, RoomState):
            problems.append("state must be 'waiting', 'live' or 'ended'")
            problems_zh.append("会话状态须为“等待中”“进行中”或“已结束”")
        cleaned = attrs.evolve(
            self,
            org_id=text("org_id", self.org_id, MAX_ID),
            host_account_id=text("host_account_id", self.host_account_id, MAX_ID),
            project=text("project", self.project, 64),
            keyword=text("keyword", self.keyword, MAX_KEYWORD),
            customer_name=text("customer_name", self.customer_name, MAX_KEYWORD),
            link_id=text("link_id", self.link_id, MAX_ID),
        )
        if problems:
            raise InvalidInput(
                "invalid record filter: " + "; ".join(problems),
                zh="筛选条件有误：" + "；".join(problems_zh) + "。请修改后再查询",
            )
        return cleaned


@attrs.frozen
class RecordSummary:
    """One row of the records list (and of the export)."""

    id: str
    meeting_number: str
    state: RoomState
    company_id: str
    org_id: str
    org_name: str
    project: str | None
    host_account_id: str
    host_name: str
    host_login: str | None
    terminal: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    duration_ms: int | None
    end_reason: str | None
    participant_count: int
    customer_count: int
    evaluation_count: int
    average_score: float | None
    #: The session's network (good / fair / poor, see ``media.monitor.session_quality``).
    network_quality: str | None = None
    #: The SOP quality inspection's score (0–100) and verdict, once the report is written.
    qa_score: int | None = None
    qa_passed: bool | None = None
    #: The title given at the start (会议主题).
    title: str | None = None
    #: 是否投保: True / False as marked, None while nobody marked it.
    insured: bool | None = None
    #: Whether the session has a video recording (视频使用).
    video_used: bool = False
    #: The submitted assessments' answers as one line of text; filled for exports only
    #: (``RecordService.batches``), the details carry them whole.
    assessment_text: str | None = None


@attrs.frozen
class RecordPage:
    """One page of the list, the total number of matches, and where the page starts."""

    items: list[RecordSummary]
    total: int
    offset: int
    limit: int


@attrs.frozen
class ParticipantRecord:
    """参会人信息: someone who joined, their role and their time in the room."""

    participant_id: str
    name: str
    role: str
    terminal: str
    first_joined_at: datetime | None
    duration_ms: int
    recording_acknowledged_at: datetime | None


@attrs.frozen
class CustomerEvaluation:
    """客户评价: a customer who joined, with their score and comment if they rated."""

    participant_id: str
    name: str
    score: int | None
    comment: str | None


@attrs.frozen
class SharedMaterialRecord:
    """共享素材信息: one material shared in the session.

    ``kind`` is the material's kind (``link``, ``assessment``, ``file``, ``video``,
    ``blank``); ``content`` a link's address (empty for documents, which are described
    by ``content_kind`` — ``pdf``, ``pptx``… — and their number of ``pages``);
    ``material_id`` the library material that was shared (None for a blank board or a
    material since deleted), so an auditor can tell exactly which document it was.
    """

    kind: str
    name: str
    content: str
    content_kind: str | None = None
    pages: int | None = None
    material_id: str | None = None


@attrs.frozen
class AssessmentAnswer:
    """One answered question of an assessment: the field's label and what was chosen."""

    name: str
    label: str
    value: str


@attrs.frozen
class AssessmentRecord:
    """A submitted assessment (测评): which one, who submitted it, when, and the answers
    (masked fields are never kept)."""

    name: str
    participant_name: str
    submitted_at: datetime
    answers: list[AssessmentAnswer]
    material_id: str | None = None


@attrs.frozen
class AnnotatedPageRecord:
    """A whiteboard page that had strokes at the session's end, rendered to PNG at ``url``
    (so an auditor sees what was drawn without the replay)."""

    document: str
    name: str
    page: int
    strokes: int
    url: str


@attrs.frozen
class SopStepRecord:
    """实时辅助执行情况: one row of the SOP execution table.

    An executed node keeps its evidence: ``time_ms`` (on the transcript's clock, like a
    violation's) and ``offset_ms`` (from the session's start, what the record shows),
    the ``speaker`` id and ``role``, and the recognised ``text``.
    """

    level1: str
    level2: str
    #: A ``StepStatus`` code; a record written before codes kept the Chinese label,
    #: which is read as its code.
    status: StepStatus = attrs.field(converter=read_step_status)
    script: str
    time_ms: int | None = None
    offset_ms: int | None = None
    speaker: str | None = None
    role: str | None = None
    text: str | None = None


@attrs.frozen
class QaViolationRecord:
    """One violation of the quality inspection, with its evidence.

    ``offset_ms`` is when it was said, from the session's start (what the record shows
    as mm:ss); ``time_ms`` the same moment on the transcript's clock (the platform's
    clock for a live session). ``speaker`` is the speaker id and ``role`` their role
    (``salesperson`` / ``customer``). A violation of the whole session (a disclosure
    never said, the session's speech rate) has no evidence: time 0 and empty speaker
    and text.
    """

    rule_id: str
    rule_name: str
    kind: str
    severity: str
    deduction: int
    time_ms: int
    offset_ms: int
    speaker: str
    role: str | None
    text: str
    detail: str


@attrs.frozen
class SilenceRecord:
    """A silence longer than the rule allows: from ``start_ms`` to ``end_ms``, both from
    the session's start."""

    start_ms: int
    end_ms: int


@attrs.frozen
class QaReportRecord:
    """质检报告: the score, pass / fail, violations with evidence, the mandatory
    disclosures (and required flow steps) never said, speech rates and silences."""

    score: int
    passed: bool
    deductions: int
    violations: list[QaViolationRecord]
    missing_mandatory: list[str]
    #: Normalised characters per minute of each role's speech.
    speech_rate_cpm: dict[str, float]
    silences: list[SilenceRecord]


@attrs.frozen
class SessionRecord:
    """The full record of one session (会议详情).

    Fields that later issues fill stay empty here and are part of the type already, so
    clients can rely on them: ``shared_materials`` (and the ``shared_file`` /
    ``shared_link`` flags derived from them) with material sharing; ``recording_status``
    (recording → processing → ready / failed) and ``recording_url`` with the media
    issue; ``sop_steps`` and ``qa_report`` with the SOP assistant; ``network`` (network
    quality summary) with the media issue.
    """

    summary: RecordSummary
    participants: list[ParticipantRecord]
    evaluations: list[CustomerEvaluation]
    shared_materials: list[SharedMaterialRecord] = attrs.field(factory=list)
    shared_file: bool = False
    shared_link: bool = False
    recording_status: str | None = None
    recording_url: str | None = None
    sop_steps: list[SopStepRecord] = attrs.field(factory=list)
    network: dict[str, Any] | None = None
    qa_report: QaReportRecord | None = None
    annotated_pages: list[AnnotatedPageRecord] = attrs.field(factory=list)
    assessments: list[AssessmentRecord] = attrs.field(factory=list)
    #: Who marked 是否投保 (their login) and when.
    insured_by: str | None = None
    insured_at: datetime | None = None


@attrs.frozen
class RecordFacets:
    """What the search panel offers, from the records the actor may see."""

    orgs: list[tuple[str, str]]
    hosts: list[tuple[str, str]]
    projects: list[str]
    #: The link materials shared in those records: (material id, name).
    links: list[tuple[str, str]] = attrs.field(factory=list)
