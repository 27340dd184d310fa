"""The SOP library of a company (SOP 管理, manual §4.6): scripts, flows, templates, QA rules.

Permissions: a company admin manages their company's library (``Operation.SOP_MANAGE``).
Org admins and salespeople read: the script library and QA rules of their company, the
templates their organization is allowed (a template with no organizations is allowed to
all), and the flows of those templates. Anything outside the actor's view is reported
as ``NotAccessible``, exactly like a missing id.
"""

from __future__ import annotations

from zhanye_sdk.sop.library.categories import CategoryLibrary
from zhanye_sdk.sop.library.flows import FlowLibrary
from zhanye_sdk.sop.library.rules import RuleLibrary
from zhanye_sdk.sop.library.scripts import ScriptLibrary
from zhanye_sdk.sop.library.templates import TemplateLibrary

__all__ = ["SopService"]


class SopService(CategoryLibrary, ScriptLibrary, FlowLibrary, TemplateLibrary, RuleLibrary):
    """The SOP library, seen through the acting principal: one part per entity
    (``zhanye_sdk.sop.library``).

    Args:
        ctx: the platform's shared context (database, clock, settings).
    """
