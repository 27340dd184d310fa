"""SOP assistant and quality inspection: script library, flows, templates, live matching.

The matching engine (``normalise``, ``matcher``) and quality inspection (``qa``) are
sans-I/O cores; ``models`` and ``service`` hold the managed library (one module per entity
under ``library``), ``outline`` a flow's nodes as text. ``assist`` follows a session live
and ``inputs`` keeps what it was given as data, replayed after a restart; ``live`` runs
both for the host over signaling, with ``messages`` (what the host sends), ``live_store``
(inputs stored and replayed), ``listening`` (speech), ``demo_feed`` (a scripted
conversation) and ``summary`` (the record's forms).
"""

from zhanye_sdk.sop.matcher import (
    NEED_DATA,
    KeyPhrase,
    MatcherConfig,
    PhraseHit,
    PhraseIndex,
    TranscriptMatcher,
    TranscriptSegment,
)
from zhanye_sdk.sop.normalise import NormalisedText, normalise
from zhanye_sdk.sop.outline import FlowOutline
from zhanye_sdk.sop.qa import QaAlert, QaReport, QaRule, QualityInspector

__all__ = [
    "NEED_DATA",
    "FlowOutline",
    "KeyPhrase",
    "MatcherConfig",
    "NormalisedText",
    "PhraseHit",
    "PhraseIndex",
    "QaAlert",
    "QaReport",
    "QaRule",
    "QualityInspector",
    "TranscriptMatcher",
    "TranscriptSegment",
    "normalise",
]
