"""Claims on recordings' post-processing: which process finishes a recording, until when.

Revision ID: 0010_recording_claims
Revises: 0005_media
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_recording_claims"
down_revision = "0005_media"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("session_media", sa.Column("processing_by", sa.String(128), nullable=True))
    op.add_column("session_media", sa.Column("processing_until_ms", sa.BigInteger, nullable=True))


def downgrade() -> None:
    op.drop_column("session_media", "processing_until_ms")
    op.drop_column("session_media", "processing_by")
