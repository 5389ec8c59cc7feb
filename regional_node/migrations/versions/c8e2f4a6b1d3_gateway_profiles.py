"""gateway profiles

Revision ID: c8e2f4a6b1d3
Revises: b5d3e1f07a92
Create Date: 2026-12-07 16:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'c8e2f4a6b1d3'
down_revision: str | None = 'b5d3e1f07a92'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('gateway_profiles',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('installation_id', sa.String(length=64), nullable=False),
    sa.Column('installed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_gateway_profiles'))
    )
    with op.batch_alter_table('gateway_profiles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gateway_profiles_installation_id'), ['installation_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('gateway_profiles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gateway_profiles_installation_id'))

    op.drop_table('gateway_profiles')
