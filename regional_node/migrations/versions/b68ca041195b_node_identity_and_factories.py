"""node identity and factories

Revision ID: b68ca041195b
Revises:
Create Date: 2026-11-22 20:47:41.930437
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'b68ca041195b'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('factories',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_factories')),
    sa.UniqueConstraint('name', name=op.f('uq_factories_name'))
    )
    op.create_table('node_identity',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=63), nullable=False),
    sa.Column('region', sa.String(length=16), nullable=False),
    sa.Column('industry', sa.String(length=63), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('hub_registered_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_node_identity')),
    sa.UniqueConstraint('name', name=op.f('uq_node_identity_name'))
    )


def downgrade() -> None:
    op.drop_table('node_identity')
    op.drop_table('factories')
