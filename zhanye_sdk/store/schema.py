"""The tables, as SQLAlchemy Core metadata (the migrations create exactly these).

Times are integer milliseconds since the Unix epoch, UTC: portable across SQLite and
PostgreSQL and free of time-zone ambiguity. Ids are random hex strings.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "accounts",
    "cobrowse_events",
    "cobrowse_shares",
    "companies",
    "login_failures",
    "login_tokens",
    "metadata",
    "organizations",
    "platform_secrets",
    "session_assessments",
    "session_events",
    "session_media",
    "session_participants",
    "sessions",
    "short_invites",
    "sop_assist_inputs",
    "sop_flows",
    "sop_qa_rules",
    "sop_script_categories",
    "sop_scripts",
    "sop_session_reports",
    "sop_template_flows",
    "sop_template_orgs",
    "sop_templates",
    "whiteboard_ops",
    "whiteboard_pages",
    "whiteboard_records",
]

metadata = MetaData()

companies = Table(
    "companies",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("created_ms", BigInteger, nullable=False),
    # What people of the company add to their login at sign-in (login@code).
    Column("code", String(16)),
    # The first company created: its people sign in with the bare login.
    Column("home", Boolean, nullable=False, default=False),
    UniqueConstraint("code", name="uq_companies_code"),
)

organizations = Table(
    "organizations",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("company_id", String(32), ForeignKey("companies.id"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("morning_start", String(8)),
    Column("morning_end", String(8)),
    Column("afternoon_start", String(8)),
    Column("afternoon_end", String(8)),
    Column("timezone", String(64), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_ms", BigInteger, nullable=False),
    # 创建人 (0008): the creating account and its name then (kept if the account goes).
    Column("created_by", String(32)),
    Column("created_by_name", String(64)),
    UniqueConstraint("company_id", "name", name="uq_organizations_company_name"),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("company_id", String(32), ForeignKey("companies.id")),
    Column("org_id", String(32), ForeignKey("organizations.id")),
    # Unique within the company only: another company's logins are none of its business.
    Column("login", String(64), nullable=False),
    Column("name", String(64), nullable=False),
    Column("phone", String(20)),
    Column("role", String(16), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    # 创建人 (0008): the creating account and its name then (kept if the account goes).
    Column("created_by", String(32)),
    Column("created_by_name", String(64)),
    Index("ix_accounts_company_org", "company_id", "org_id"),
    UniqueConstraint("company_id", "login", name="uq_accounts_company_login"),
)

login_tokens = Table(
    "login_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("account_id", String(32), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("expires_ms", BigInteger, nullable=False),
    Column("revoked_ms", BigInteger),
    Column("client_address", String(64)),
    Index("ix_login_tokens_account", "account_id"),
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(128), nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Index("ix_login_failures_key_at", "key", "at_ms"),
)

# Material library (SPEC C2). A material's bytes live in the content-addressed store
# under ``sha256``; ``audience`` says who sees it: "company" (every organization of the
# company), "orgs" (the organizations in ``material_orgs``) or "uploader" (a
# salesperson's own upload: the uploader and the admins over them).
materials = Table(
    "materials",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("company_id", String(32), ForeignKey("companies.id"), nullable=False),
    Column("owner_org_id", String(32), ForeignKey("organizations.id", ondelete="SET NULL")),
    Column("uploader_id", String(32), ForeignKey("accounts.id", ondelete="SET NULL")),
    Column("audience", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("name", String(128), nullable=False),
    Column("content_kind", String(16)),
    Column("sha256", String(64)),
    Column("size", BigInteger),
    Column("url", Text),
    Column("title", String(128)),
    Column("has_audio", Boolean, nullable=False, default=False),
    Column("mask_selectors", Text),
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_materials_company_created", "company_id", "created_ms"),
    Index("ix_materials_sha256", "sha256"),
)

material_orgs = Table(
    "material_orgs",
    metadata,
    Column(
        "material_id",
        String(32),
        ForeignKey("materials.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "org_id",
        String(32),
        ForeignKey("organizations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Index("ix_material_orgs_org", "org_id"),
)

# Page images of converted documents, shared by every material with the same content:
# a rendition row marks a finished conversion of ``source_sha256`` at ``width`` pixels.
material_renditions = Table(
    "material_renditions",
    metadata,
    Column("source_sha256", String(64), primary_key=True),
    Column("width", Integer, primary_key=True),
    Column("page_count", Integer, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
)

material_pages = Table(
    "material_pages",
    metadata,
    Column("source_sha256", String(64), primary_key=True),
    Column("width", Integer, primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("image_sha256", String(64), nullable=False),
    Column("height", Integer, nullable=False),
    Index("ix_material_pages_image", "image_sha256"),
)

# ---- sessions (会话) -------------------------------------------------------------------

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("meeting_number", String(8), nullable=False, unique=True),
    Column("company_id", String(32), ForeignKey("companies.id"), nullable=False),
    Column("org_id", String(32), ForeignKey("organizations.id"), nullable=False),
    Column("host_account_id", String(32), nullable=False),
    Column("host_name", String(64), nullable=False),
    Column("project", String(64)),
    Column("terminal", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("started_ms", BigInteger),
    Column("ended_ms", BigInteger),
    Column("end_reason", String(32)),
    Column("last_seq", BigInteger, nullable=False),
    Column("room_snapshot", Text, nullable=False),
    Column("sms_invites", Integer, nullable=False),
    # Scale-out (0007): the fencing token of the process that owns the room; every
    # write of the room's events must carry it (``cluster/fencing.py``).
    Column("owner_fence", BigInteger, nullable=False, server_default="0"),
    # 0008: the title given at the start, and the outcome 是否投保 (None: not marked),
    # who marked it and when.
    Column("title", String(64)),
    Column("insured", Boolean),
    Column("insured_by", String(64)),
    Column("insured_ms", BigInteger),
    Index("ix_sessions_org_created", "org_id", "created_ms"),
    Index("ix_sessions_host_state", "host_account_id", "state"),
    # The records list (0004): a company admin's and a salesperson's, newest first.
    Index("ix_sessions_company_created", "company_id", "created_ms"),
    Index("ix_sessions_host_created", "host_account_id", "created_ms"),
)

session_events = Table(
    "session_events",
    metadata,
    Column(
        "session_id", String(32), ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("seq", BigInteger, primary_key=True),
    Column("type", String(64), nullable=False),
    Column("data", Text, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
)

session_participants = Table(
    "session_participants",
    metadata,
    Column(
        "session_id", String(32), ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("participant_id", String(32), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("name", String(64), nullable=False),
    Column("terminal", String(16), nullable=False),
    Column("phone", String(20)),
    Column("recording_ack_ms", BigInteger),
    Column("first_joined_ms", BigInteger),
    Column("duration_ms", BigInteger, nullable=False),
    Column("score", Integer),
    Column("comment", Text),
)

#: Short invite links (0005_short_invites): /j/<code> → the signed invite token.
short_invites = Table(
    "short_invites",
    metadata,
    Column("code", String(16), primary_key=True),
    Column("session_id", String(32), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("token", Text, nullable=False),
    Column("expires_ms", BigInteger, nullable=False),
    Index("ix_short_invites_expires", "expires_ms"),
)

platform_secrets = Table(
    "platform_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(128), nullable=False),
)

#: The answers of a shared assessment (测评) a customer submitted (0008): a JSON list of
#: ``{"name", "label", "value"}``; masked fields never reach this table.
session_assessments = Table(
    "session_assessments",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("session_id", String(32), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("share_id", String(32), nullable=False),
    Column("material_id", String(32)),
    Column("name", String(128), nullable=False),
    Column("participant_id", String(32), nullable=False),
    Column("participant_name", String(64), nullable=False),
    Column("answers", Text, nullable=False),
    Column("submitted_ms", BigInteger, nullable=False),
    Index("ix_session_assessments_session", "session_id"),
)

# ---- co-browse (同屏) ------------------------------------------------------------------

cobrowse_shares = Table(
    "cobrowse_shares",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("session_id", String(32), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("material_id", String(32)),
    Column("name", String(128), nullable=False),
    Column("url", Text, nullable=False),
    Column("sharer_id", String(32), nullable=False),
    Column("started_ms", BigInteger, nullable=False),
    Column("ended_ms", BigInteger),
    Index("ix_cobrowse_shares_session", "session_id"),
)

cobrowse_events = Table(
    "cobrowse_events",
    metadata,
    Column(
        "share_id",
        String(32),
        ForeignKey("cobrowse_shares.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("seq", BigInteger, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("data", Text, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
)

#: The whiteboard and share ops of a session in server order: the client message
#: (``type``, ``data``) as applied and its resolved ``effects`` (see ``whiteboard.wire``).
whiteboard_ops = Table(
    "whiteboard_ops",
    metadata,
    Column(
        "session_id", String(32), ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("seq", BigInteger, primary_key=True),
    Column("op_id", String(64), nullable=False),
    Column("author", String(64), nullable=False),
    Column("type", String(32), nullable=False),
    Column("data", Text, nullable=False),
    Column("effects", Text, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
)

#: A session's whiteboard as left at its end, for the record: one row once the
#: annotated pages were rendered (``seq``: the board's last op then) ...
whiteboard_records = Table(
    "whiteboard_records",
    metadata,
    Column(
        "session_id", String(32), ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("seq", BigInteger, nullable=False),
    Column("rendered_ms", BigInteger, nullable=False),
)

#: ... and every page that had strokes then, rendered to PNG with them.
whiteboard_pages = Table(
    "whiteboard_pages",
    metadata,
    Column(
        "session_id", String(32), ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("document", String(64), primary_key=True),
    Column("page", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("strokes", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("png", LargeBinary, nullable=False),
)

#: Media of a session: its recording (status, folder, hash-chained segment manifest)
#: and the network quality summary (JSON), one row per session.
session_media = Table(
    "session_media",
    metadata,
    Column(
        "session_id", String(32), ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("recording_status", String(16), nullable=True),
    Column("recording_folder", Text, nullable=True),
    Column("manifest", Text, nullable=True),
    Column("manifest_head", String(64), nullable=True),
    Column("recording_started_ms", BigInteger, nullable=True),
    Column("recording_ended_ms", BigInteger, nullable=True),
    Column("recording_ms", BigInteger, nullable=True),
    Column("recording_error", Text, nullable=True),
    Column("network_summary", Text, nullable=True),
    # Post-processing is a claimed job: the process finishing the recording, and until
    # when its claim holds unless renewed (then another process may finish it).
    Column("processing_by", String(128), nullable=True),
    Column("processing_until_ms", BigInteger, nullable=True),
)

# ---- SOP library (SPEC C7): scripts, flows, templates, QA rules --------------------------
# A flow's nodes (two levels, each with key phrases, required flag and linked script ids)
# and its page ranges are stored as JSON text: they are always read and written whole.
sop_script_categories = Table(
    "sop_script_categories",
    metadata,
    Column("id", String(32), primary_key=True),
    Column(
        "company_id", String(32), ForeignKey("companies.id", ondelete="CASCADE"), nullable=False
    ),
    Column("parent_id", String(32), ForeignKey("sop_script_categories.id", ondelete="CASCADE")),
    Column("name", String(64), nullable=False),
    Column("position", Integer, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_sop_script_categories_company", "company_id"),
)

sop_scripts = Table(
    "sop_scripts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column(
        "company_id", String(32), ForeignKey("companies.id", ondelete="CASCADE"), nullable=False
    ),
    Column(
        "category_id",
        String(32),
        ForeignKey("sop_script_categories.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(64), nullable=False),
    Column("keywords", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Index("ix_sop_scripts_company_category", "company_id", "category_id"),
)

sop_flows = Table(
    "sop_flows",
    metadata,
    Column("id", String(32), primary_key=True),
    Column(
        "company_id", String(32), ForeignKey("companies.id", ondelete="CASCADE"), nullable=False
    ),
    Column("name", String(64), nullable=False),
    Column("material_id", String(32), ForeignKey("materials.id", ondelete="SET NULL")),
    Column("pages", Text, nullable=False),
    Column("nodes", Text, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Index("ix_sop_flows_company", "company_id"),
)

sop_templates = Table(
    "sop_templates",
    metadata,
    Column("id", String(32), primary_key=True),
    Column(
        "company_id", String(32), ForeignKey("companies.id", ondelete="CASCADE"), nullable=False
    ),
    Column("name", String(64), nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Index("ix_sop_templates_company", "company_id"),
)

sop_template_flows = Table(
    "sop_template_flows",
    metadata,
    Column(
        "template_id",
        String(32),
        ForeignKey("sop_templates.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("position", Integer, primary_key=True),
    Column("flow_id", String(32), ForeignKey("sop_flows.id", ondelete="CASCADE"), nullable=False),
    Index("ix_sop_template_flows_flow", "flow_id"),
)

sop_template_orgs = Table(
    "sop_template_orgs",
    metadata,
    Column(
        "template_id",
        String(32),
        ForeignKey("sop_templates.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "org_id", String(32), ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    ),
    Index("ix_sop_template_orgs_org", "org_id"),
)

#: One QA rule; ``definition`` is the rule's JSON (expression, order, thresholds …).
sop_qa_rules = Table(
    "sop_qa_rules",
    metadata,
    Column("id", String(32), primary_key=True),
    Column(
        "company_id", String(32), ForeignKey("companies.id", ondelete="CASCADE"), nullable=False
    ),
    Column("name", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("definition", Text, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Index("ix_sop_qa_rules_company", "company_id"),
)

#: The SOP outcome of a session, written when its assistant finishes: the execution
#: table rows (level1, level2, status, script) and the QA report, as JSON.
sop_session_reports = Table(
    "sop_session_reports",
    metadata,
    Column(
        "session_id", String(32), ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("steps", Text, nullable=False),
    Column("qa", Text, nullable=False),
    Column("written_ms", BigInteger, nullable=False),
    #: The report's score and verdict, for the records list and its export.
    Column("qa_score", Integer),
    Column("qa_passed", Boolean),
)

#: What a session's live SOP assistant was given, in order (template starts with the
#: library they loaded, what was shown, transcript segments): replayed into a fresh
#: assistant when the host process restarts; deleted when the session's report is written.
sop_assist_inputs = Table(
    "sop_assist_inputs",
    metadata,
    Column(
        "session_id", String(32), ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("seq", BigInteger, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("data", Text, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
)

#: Record export jobs of a scale-out deployment (``cluster/exports.py``): any process
#: takes the request, one claims the job (``claimed_by`` until ``claimed_until_ms``,
#: renewed while it runs; a claim that lapses — its process died — is taken again by
#: another) and stores the finished file here, so any process serves the download.
export_jobs = Table(
    "export_jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("owner_id", String(32), nullable=False, index=True),
    Column("format", String(8), nullable=False),
    Column("filename", String(200), nullable=False),
    Column("state", String(16), nullable=False, index=True),
    Column("done", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("error", Text),
    #: The request as JSON: who asked (their principal), the filters, zone and language.
    Column("request", Text, nullable=False),
    Column("claimed_by", String(128)),
    Column("claimed_until_ms", BigInteger),
    Column("attempts", Integer, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("finished_ms", BigInteger),
    Column("content", LargeBinary),
)
