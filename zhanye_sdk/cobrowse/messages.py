"""The ``cobrowse`` area's messages as the forms of its reader table (``READERS``,
decoded by ``signaling.readers``): a field a form does not have, or one of the wrong
type, is refused as ``invalid_input`` before anything happens."""

from __future__ import annotations

from typing import Any

import attrs

from zhanye_sdk.signaling.readers import Readers, text_of

__all__ = [
    "READERS",
    "AnswerForm",
    "ControlForm",
    "EndForm",
    "EventForm",
    "OperateForm",
    "ResyncForm",
    "ShareForm",
    "SnapshotChunkForm",
    "SnapshotForm",
    "SubmitForm",
]

_ID = 64
_SHARE = 64


@attrs.frozen
class ShareForm:
    """``cobrowse.share`` (host): push a link material to a customer (the first present
    customer when none is named)."""

    material_id: str = attrs.field(validator=text_of(_ID))
    customer: str | None = attrs.field(default=None, validator=text_of(_ID))


@attrs.frozen
class SnapshotForm:
    """``cobrowse.snapshot`` (customer's agent): the whole page."""

    snapshot: dict[str, Any]
    share: str | None = attrs.field(default=None, validator=text_of(_SHARE))


@attrs.frozen
class SnapshotChunkForm:
    """``cobrowse.snapshot_chunk`` (customer's agent): one piece of a snapshot's JSON."""

    id: str = attrs.field(validator=text_of(_ID))
    index: int
    total: int
    text: str
    share: str | None = attrs.field(default=None, validator=text_of(_SHARE))


@attrs.frozen
class EventForm:
    """``cobrowse.event`` (customer's agent): one page event."""

    kind: str = attrs.field(validator=text_of(_ID))
    data: dict[str, Any]
    share: str | None = attrs.field(default=None, validator=text_of(_SHARE))


@attrs.frozen
class ControlForm:
    """``cobrowse.control``: hand control of the page to ``to`` (or take it back)."""

    to: str = attrs.field(validator=text_of(_ID))
    share: str | None = attrs.field(default=None, validator=text_of(_SHARE))


@attrs.frozen
class OperateForm:
    """``cobrowse.operate`` (host holding control): an input on the customer's page."""

    epoch: int
    kind: str = attrs.field(validator=text_of(_ID))
    data: dict[str, Any]
    share: str | None = attrs.field(default=None, validator=text_of(_SHARE))


@attrs.frozen
class ResyncForm:
    """``cobrowse.resync``: what happened after ``last_seq`` (none: from the snapshot)."""

    last_seq: int | None = None
    share: str | None = attrs.field(default=None, validator=text_of(_SHARE))


@attrs.frozen
class EndForm:
    """``cobrowse.end`` (host): stop sharing."""

    share: str | None = attrs.field(default=None, validator=text_of(_SHARE))


@attrs.frozen
class AnswerForm:
    """One answer of a submitted assessment: the field's name, its question, the value
    given, and the field's node on the shared page (lengths are checked by
    ``CobrowseLog.submission``, which also drops masked fields' answers)."""

    name: str = ""
    label: str = ""
    value: str = ""
    node: int | None = None
    masked: bool = False


@attrs.frozen
class SubmitForm:
    """``cobrowse.submit`` (customer's agent): the answers of the shared assessment."""

    answers: list[AnswerForm]
    share: str | None = attrs.field(default=None, validator=text_of(_SHARE))


#: The ``cobrowse`` area's reader table.
READERS = Readers(
    "cobrowse",
    {
        "cobrowse.share": ShareForm,
        "cobrowse.snapshot": SnapshotForm,
        "cobrowse.snapshot_chunk": SnapshotChunkForm,
        "cobrowse.event": EventForm,
        "cobrowse.control": ControlForm,
        "cobrowse.operate": OperateForm,
        "cobrowse.resync": ResyncForm,
        "cobrowse.end": EndForm,
        "cobrowse.submit": SubmitForm,
    },
)
