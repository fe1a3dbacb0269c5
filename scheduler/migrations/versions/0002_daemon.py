"""The publishing daemon's tables: heartbeats and post corrections.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daemon_heartbeats",
        sa.Column("daemon_id", sa.String(length=200), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_beat", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("daemon_id"),
    )
    op.create_table(
        "post_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("replacement_post_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=128), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"]),
        sa.ForeignKeyConstraint(["replacement_post_id"], ["posts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("post_corrections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_post_corrections_post_id"), ["post_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_post_corrections_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("post_corrections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_post_corrections_state"))
        batch_op.drop_index(batch_op.f("ix_post_corrections_post_id"))
    op.drop_table("post_corrections")
    op.drop_table("daemon_heartbeats")
