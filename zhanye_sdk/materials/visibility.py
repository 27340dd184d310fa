"""Who sees a material and who may delete it (SPEC C2, manual §4.5), in one place.

A company admin chooses the organizations a material is shown in (all of them when none
are chosen): audience ``company`` or ``orgs``. An org admin's materials are shown in
their organization (``orgs``, owned by it). A salesperson's own uploads (``uploader``)
are seen by them and the admins over them. Company admins see their whole company; org
admins also see everything their organization's people uploaded.

Deleting: the uploader, an org admin for what their organization's people uploaded,
the company admin for the whole company.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa

from zhanye_sdk.errors import InvalidInput, PermissionDenied
from zhanye_sdk.materials.models import Audience, Material
from zhanye_sdk.platform.permissions import NotAccessible
from zhanye_sdk.platform.roles import Principal, Role
from zhanye_sdk.store.schema import material_orgs, materials, organizations

__all__ = ["may_delete", "resolve_audience", "visible_to"]


def visible_to(actor: Principal) -> Any:
    """The SQL condition: materials the actor may see."""
    if actor.role is Role.SUPER_ADMIN:
        return sa.true()
    same_company = materials.c.company_id == actor.company_id
    if actor.role is Role.COMPANY_ADMIN:
        return same_company
    shown_in_my_org = (
        sa.select(material_orgs.c.material_id)
        .where(material_orgs.c.material_id == materials.c.id)
        .where(material_orgs.c.org_id == actor.org_id)
        .exists()
    )
    seen = [
        materials.c.audience == Audience.COMPANY.value,
        sa.and_(materials.c.audience == Audience.ORGS.value, shown_in_my_org),
        materials.c.uploader_id == actor.account_id,
    ]
    if actor.role is Role.ORG_ADMIN:
        seen.append(materials.c.owner_org_id == actor.org_id)
    return sa.and_(same_company, sa.or_(*seen))


def may_delete(actor: Principal, material: Material) -> bool:
    """Whether the actor may delete a material it can see."""
    if material.uploader_id is not None and material.uploader_id == actor.account_id:
        return True
    if actor.role is Role.COMPANY_ADMIN:
        return material.company_id == actor.company_id
    if actor.role is Role.ORG_ADMIN:
        return material.owner_org_id is not None and material.owner_org_id == actor.org_id
    return actor.role is Role.SUPER_ADMIN


async def resolve_audience(
    conn: Any, actor: Principal, org_ids: Collection[str] | None
) -> tuple[Audience, list[str], str | None]:
    """(audience, organizations shown in, owner organization) of a new material.

    Raises:
        InvalidInput: ``org_ids`` is malformed or empty.
        NotAccessible: an organization is outside the actor's scope.
        PermissionDenied: a salesperson chose organizations, or the role adds nothing.
    """
    if org_ids is not None and (
        isinstance(org_ids, str) or not all(isinstance(o, str) for o in org_ids)
    ):
        raise InvalidInput("org_ids must be a list of organization ids")
    if actor.role is Role.COMPANY_ADMIN:
        if org_ids is None:
            return Audience.COMPANY, [], None
        chosen = sorted(set(org_ids))
        if not chosen:
            raise InvalidInput(
                "choose at least one organization, or leave org_ids out to show the "
                "material in every organization of the company"
            )
        rows = await conn.execute(
            sa.select(organizations.c.id, organizations.c.company_id).where(
                organizations.c.id.in_(chosen)
            )
        )
        found = {r.id for r in rows if r.company_id == actor.company_id}
        for org_id in chosen:
            if org_id not in found:
                raise NotAccessible("organization", org_id)
        return Audience.ORGS, chosen, None
    if actor.role is Role.ORG_ADMIN and actor.org_id is not None:
        for org_id in org_ids or ():
            if org_id != actor.org_id:
                raise NotAccessible("organization", org_id)
        return Audience.ORGS, [actor.org_id], actor.org_id
    if actor.role is Role.SALESPERSON:
        if org_ids is not None:
            raise PermissionDenied(
                "a salesperson's uploads are seen by them and their administrators; "
                "only administrators choose organizations"
            )
        return Audience.UPLOADER, [], actor.org_id
    raise PermissionDenied(f"role {actor.role.value} may not add materials")
