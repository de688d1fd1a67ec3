"""conversation_messages: tool calls and tool results (answers that used MCP tools).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 22:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_COLUMNS = ("tool_calls", "tool_call_id", "tool_result")


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("conversation_messages")}
    missing = [name for name in _COLUMNS if name not in columns]
    if missing:
        with op.batch_alter_table("conversation_messages") as batch:
            for name in missing:
                batch.add_column(sa.Column(name, sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversation_messages") as batch:
        for name in _COLUMNS:
            batch.drop_column(name)
