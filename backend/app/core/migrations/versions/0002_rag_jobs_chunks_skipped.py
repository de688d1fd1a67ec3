"""rag_jobs.chunks_skipped: chunks an ingestion dropped as tables of contents.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("rag_jobs")}
    if "chunks_skipped" not in columns:
        with op.batch_alter_table("rag_jobs") as batch:
            batch.add_column(
                sa.Column("chunks_skipped", sa.Integer(), server_default="0", nullable=False)
            )


def downgrade() -> None:
    with op.batch_alter_table("rag_jobs") as batch:
        batch.drop_column("chunks_skipped")
