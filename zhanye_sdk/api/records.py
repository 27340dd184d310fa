"""Session record endpoints: list with the search panel, details, export jobs.

``GET /api/records`` takes the filters as query parameters (``created_from``,
``created_before`` as ISO 8601 times with an offset; ``org_id``, ``host_account_id``,
``project``, ``keyword``; ``participants_min``, ``participants_max``; ``evaluation``
= ``rated`` | ``unrated`` | ``1``…``5``; ``state``; and ``offset``, ``limit``).
Also ``link_id`` (a link material shared in it, 会话链接), ``insured`` = ``yes`` |
``no`` | ``unmarked`` (是否投保), ``customer_name`` (客户姓名) and ``video`` = ``used`` |
``unused`` (视频使用).
``GET /api/records/facets`` lists the organizations, hosts, projects and shared links of
the records the caller may see (the search panel's choices); ``GET /api/records/{id}``
is one record's details; ``PUT /api/records/{id}/insured`` ``{"insured": true|false|null}``
marks the outcome 是否投保.
``GET /api/workbench/meetings`` is the workbench's 展业会议列表: the caller's unfinished
sessions and those of their day (in their organization's time zone).
``POST /api/records/export`` takes ``{"format": "csv"|"xlsx", "filters": {…same
names…}, "timezone"?: "Asia/Shanghai", "lang": "zh-CN"|"en"}`` (times in the caller's
organization's zone unless a zone is named) and answers with the job;
``GET /api/records/export/{job}`` reports ``{done, total, state}``;
``GET /api/records/export/{job}/file`` downloads the finished file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, time
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import attrs

from zhanye_sdk.api.group import EndpointGroup
from zhanye_sdk.api.http import ApiRequest, ApiResponse, Router
from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.facade import Platform
from zhanye_sdk.records.jobs import ExportJob, RecordExports
from zhanye_sdk.records.models import EvaluationFilter, InsuredFilter, RecordFilter, VideoFilter
from zhanye_sdk.records.service import RecordService
from zhanye_sdk.rooms.core import RoomState
from zhanye_sdk.wire import structure, unstructure

__all__ = ["RecordApi", "content_disposition", "filters_from_params"]

_TEXT = ("org_id", "host_account_id", "project", "keyword", "link_id", "customer_name")
_WHOLE = ("participants_min", "participants_max")
_TIMES = ("created_from", "created_before")
FILTER_NAMES = frozenset((*_TEXT, *_WHOLE, *_TIMES, "evaluation", "state", "insured", "video"))


def filters_from_params(
    params: Mapping[str, Any], *, extra: frozenset[str] = frozenset()
) -> RecordFilter:
    """The search panel's values (strings, as a query string or a form gives them).

    Raises:
        InvalidInput: listing every unknown name and every value that cannot be read.
    """
    problems: list[str] = []
    unknown = sorted(set(params) - FILTER_NAMES - extra)
    if unknown:
        problems.append(f"unknown filters {', '.join(unknown)}")

    def value(name: str) -> str | None:
        raw = params.get(name)
        if raw is None:
            return None
        text = str(raw).strip()
        return text or None

    fields: dict[str, Any] = {name: value(name) for name in _TEXT}
    for name in _WHOLE:
        text = value(name)
        if text is not None:
            if re.fullmatch(r"\d{1,4}", text):
                fields[name] = int(text)
            else:
                problems.append(f"{name} must be a whole number, got {text!r}")
    for name in _TIMES:
        text = value(name)
        if text is not None:
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                problems.append(f"{name} must be an ISO 8601 time, got {text!r}")
                continue
            if moment.utcoffset() is None:
                problems.append(f"{name} needs a time zone offset (like Z or +08:00)")
                continue
            fields[name] = moment
    evaluation = value("evaluation")
    if evaluation in ("rated", "unrated"):
        fields["evaluation"] = EvaluationFilter(evaluation)
    elif evaluation is not None and re.fullmatch(r"[1-5]", evaluation):
        fields["evaluation"], fields["score"] = EvaluationFilter.RATED, int(evaluation)
    elif evaluation is not None:
        problems.append(f"evaluation must be rated, unrated or a score 1–5, got {evaluation!r}")
    insured = value("insured")
    if insured is not None:
        try:
            fields["insured"] = InsuredFilter(insured)
        except ValueError:
            problems.append(f"insured must be yes, no or unmarked, got {insured!r}")
    video = value("video")
    if video is not None:
        try:
            fields["video"] = VideoFilter(video)
        except ValueError:
            problems.append(f"video must be used or unused, got {video!r}")
    state = value("state")
    if state is not None:
        try:
            fields["state"] = RoomState(state)
        except ValueError:
            problems.append(f"state must be waiting, live or ended, got {state!r}")
    if problems:
        raise InvalidInput(
            "invalid record filter: " + "; ".join(problems),
            zh="筛选条件有误，请检查时间、人数、评价、投保、视频和状态条件后再查询",
        )
    return RecordFilter(**fields).checked()


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the real one per RFC 5987/6266."""
    fallback = re.sub(r"[^A-Za-z0-9._-]+", "", filename).lstrip("-.") or "download"
    if fallback != filename:
        fallback = f"records-{fallback}"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@attrs.frozen
class InsuredForm:
    insured: bool | None


@attrs.frozen
class ExportForm:
    format: str
    filters: dict[str, Any] = attrs.field(factory=dict)
    #: None: the actor's organization's zone, the one their pages show times in.
    timezone: str | None = None
    lang: str = "zh-CN"


def _job(job: ExportJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "state": job.state.value,
        "done": job.done,
        "total": job.total,
        "format": job.format.value,
        "filename": job.filename,
        "error": job.error,
    }


def _whole(query: Mapping[str, str], name: str, default: int) -> int:
    text = query.get(name, "").strip()
    if not text:
        return default
    if not re.fullmatch(r"\d{1,9}", text):
        raise InvalidInput(f"{name} must be a whole number, got {text!r}")
    return int(text)


class RecordApi(EndpointGroup):
    """``/api/records/*`` for staff; every answer is scoped to the caller by the SDK."""

    def __init__(self, platform: Platform, records: RecordService, exports: RecordExports) -> None:
        self.platform = platform
        self.records = records
        self.exports = exports
        self.router = Router()
        r = self.router.add
        r("GET", "/api/records", self.list)
        r("GET", "/api/records/facets", self.facets)
        r("GET", "/api/workbench/meetings", self.meetings)
        r("PUT", "/api/records/{session_id}/insured", self.mark_insured)
        r("POST", "/api/records/export", self.start_export)
        r("GET", "/api/records/export/{job_id}", self.export_status)
        r("GET", "/api/records/export/{job_id}/file", self.export_file)
        r("GET", "/api/records/{session_id}", self.get)

    async def list(self, request: ApiRequest) -> ApiResponse:
        actor = await self._actor(request)
        query = request.query
        filters = filters_from_params(query, extra=frozenset({"offset", "limit"}))
        page = await self.records.list(
            actor, filters, offset=_whole(query, "offset", 0), limit=_whole(query, "limit", 20)
        )
        return ApiResponse.of_json(unstructure(page))

    async def facets(self, request: ApiRequest) -> ApiResponse:
        actor = await self._actor(request)
        facets = await self.records.facets(actor)
        return ApiResponse.of_json(
            {
                "orgs": [{"id": i, "name": n} for i, n in facets.orgs],
                "hosts": [{"id": i, "name": n} for i, n in facets.hosts],
                "projects": facets.projects,
                "links": [{"id": i, "name": n} for i, n in facets.links],
            }
        )

    async def meetings(self, request: ApiRequest) -> ApiResponse:
        actor = await self._actor(request)
        zone = ZoneInfo(await self.platform.organizations.timezone_of(actor))
        today = datetime.combine(self.platform.clock.now().astimezone(zone).date(), time(), zone)
        items = await self.records.meetings(actor, today)
        return ApiResponse.of_json({"items": unstructure(items), "day_start": today.isoformat()})

    async def mark_insured(self, request: ApiRequest, session_id: str) -> ApiResponse:
        actor = await self._actor(request)
        form = structure(request.json(), InsuredForm)
        summary = await self.records.mark_insured(actor, session_id, form.insured)
        return ApiResponse.of_json(unstructure(summary))

    async def get(self, request: ApiRequest, session_id: str) -> ApiResponse:
        actor = await self._actor(request)
        return ApiResponse.of_json(unstructure(await self.records.get(actor, session_id)))

    async def start_export(self, request: ApiRequest) -> ApiResponse:
        actor = await self._actor(request)
        form = structure(request.json(), ExportForm)
        job = await self.exports.start(
            actor,
            filters_from_params(form.filters),
            form.format,
            timezone=form.timezone or await self.platform.organizations.timezone_of(actor),
            lang=form.lang,
        )
        return ApiResponse.of_json(_job(job), 202)

    async def export_status(self, request: ApiRequest, job_id: str) -> ApiResponse:
        actor = await self._actor(request)
        return ApiResponse.of_json(_job(await self.exports.status(actor, job_id)))

    async def export_file(self, request: ApiRequest, job_id: str) -> ApiResponse:
        actor = await self._actor(request)
        path, job = await self.exports.file(actor, job_id)
        return ApiResponse(
            200,
            b"",
            content_type=job.format.content_type,
            headers={"Content-Disposition": content_disposition(job.filename)},
            file=path,
        )
