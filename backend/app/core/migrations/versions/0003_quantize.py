"""quantize_jobs and quantized_models: quantization jobs and the lineage of their outputs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table("quantize_jobs"):
        op.create_table(
            "quantize_jobs",
            sa.Column("id", sa.Text(), nullable=False),
            sa.Column("model", sa.Text(), nullable=False),
            sa.Column("source_format", sa.Text(), nullable=False),
            sa.Column("types", sa.Text(), nullable=False),
            sa.Column("status", sa.Text(), nullable=False),
            sa.Column("stage", sa.Text(), nullable=True),
            sa.Column("current", sa.Integer(), server_default="0", nullable=False),
            sa.Column("warning", sa.Text(), nullable=True),
            sa.Column("error", sa.Text(), nullable=True),
            sa.Column("error_code", sa.Text(), nullable=True),
            sa.Column("created_at", sa.Float(), nullable=False),
            sa.Column("updated_at", sa.Float(), nullable=False),
            sa.Column("finished_at", sa.Float(), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index("quantize_jobs_status", "quantize_jobs", ["status"])
    if not inspector.has_table("quantized_models"):
        op.create_table(
            "quantized_models",
            sa.Column("name", sa.Text(), nullable=False),
            sa.Column("job_id", sa.Text(), nullable=False),
            sa.Column("parent", sa.Text(), nullable=False),
            sa.Column("type", sa.Text(), nullable=False),
            sa.Column("size_bytes", sa.BigInteger(), nullable=False),
            sa.Column("parameters", sa.BigInteger(), nullable=False),
            sa.Column("bits_per_weight", sa.Float(), nullable=False),
            sa.Column("created_at", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("name"),
        )
        op.create_index("quantized_models_job", "quantized_models", ["job_id"])


def downgrade() -> None:
    op.drop_table("quantized_models")
    op.drop_table("quantize_jobs")
