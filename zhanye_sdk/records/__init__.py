"""Session records (SPEC C8, manual §4.4): list with filters, details, export."""

from zhanye_sdk.records.export import ExportFormat
from zhanye_sdk.records.jobs import ExportConfig, ExportJob, ExportState, RecordExports
from zhanye_sdk.records.models import (
    AnnotatedPageRecord,
    CustomerEvaluation,
    EvaluationFilter,
    ParticipantRecord,
    QaReportRecord,
    QaViolationRecord,
    RecordFacets,
    RecordFilter,
    RecordPage,
    RecordSummary,
    SessionRecord,
    SharedMaterialRecord,
    SilenceRecord,
    SopStepRecord,
)
from zhanye_sdk.records.service import ExportProgress, RecordConfig, RecordService

__all__ = [
    "AnnotatedPageRecord",
    "CustomerEvaluation",
    "EvaluationFilter",
    "ExportConfig",
    "ExportFormat",
    "ExportJob",
    "ExportProgress",
    "ExportState",
    "ParticipantRecord",
    "QaReportRecord",
    "QaViolationRecord",
    "RecordConfig",
    "RecordExports",
    "RecordFacets",
    "RecordFilter",
    "RecordPage",
    "RecordService",
    "RecordSummary",
    "SessionRecord",
    "SharedMaterialRecord",
    "SilenceRecord",
    "SopStepRecord",
]
