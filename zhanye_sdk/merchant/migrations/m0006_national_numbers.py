"""Customers captured as +86…/0086… are stored in the national form (13912345678), as
the desk now writes every number; a customer captured under both spellings becomes one
card (its calls, bookings, bills, groups and greetings kept, blank fields filled in).

Revision ID: m0006
Revises: m0005
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "m0006"
down_revision = "m0005"
branch_labels = None
depends_on = None

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_FIELDS = ("name", "gender", "company", "customer_type", "birthday", "notes", "level_id")


def _national(phone: str) -> str:
    # Frozen copy of zhanye_sdk.merchant.numbers.normalize_number's country-code rule.
    compact = "+" + phone[2:] if phone.startswith("00") else phone
    if compact.startswith("+86") and len(compact) > 6:
        rest = compact[3:]
        return rest if _MOBILE.match(rest) else "0" + rest.lstrip("0")
    if compact.startswith("86") and _MOBILE.match(compact[2:]):
        return compact[2:]
    return phone


def upgrade() -> None:
    bind = op.get_bind()
    meta = sa.MetaData()
    customers = sa.Table("merchant_customers", meta, autoload_with=bind)
    calls = sa.Table("merchant_calls", meta, autoload_with=bind)
    reservations = sa.Table("merchant_reservations", meta, autoload_with=bind)
    ledger = sa.Table("merchant_ledger", meta, autoload_with=bind)
    members = sa.Table("merchant_customer_groups", meta, autoload_with=bind)
    care_sent = sa.Table("merchant_care_sent", meta, autoload_with=bind)
    rows = bind.execute(
        sa.select(customers).where(
            sa.or_(
                customers.c.phone.like("+86%"),
                customers.c.phone.like("0086%"),
                customers.c.phone.like("86%"),
            )
        )
    ).all()
    for row in rows:
        number = _national(row.phone)
        if number == row.phone:
            continue
        twin = bind.execute(sa.select(customers).where(customers.c.phone == number)).first()
        if twin is None:
            bind.execute(customers.update().where(customers.c.id == row.id).values(phone=number))
            bind.execute(calls.update().where(calls.c.customer_id == row.id).values(phone=number))
            continue
        blanks = {f: getattr(row, f) for f in _FIELDS if getattr(twin, f) is None}
        if blanks:
            bind.execute(customers.update().where(customers.c.id == twin.id).values(**blanks))
        for table in (calls, reservations, ledger):
            bind.execute(
                table.update().where(table.c.customer_id == row.id).values(customer_id=twin.id)
            )
        bind.execute(calls.update().where(calls.c.customer_id == twin.id).values(phone=number))
        for table, key in ((members, "group_id"), (care_sent, "occasion")):
            have = {
                r[0]
                for r in bind.execute(sa.select(table.c[key]).where(table.c.customer_id == twin.id))
            }
            for r in bind.execute(sa.select(table).where(table.c.customer_id == row.id)).all():
                if getattr(r, key) not in have:
                    bind.execute(table.insert().values({**r._mapping, "customer_id": twin.id}))
            bind.execute(table.delete().where(table.c.customer_id == row.id))
        bind.execute(customers.delete().where(customers.c.id == row.id))


def downgrade() -> None:
    pass  # the national form is a valid number for the older code too
