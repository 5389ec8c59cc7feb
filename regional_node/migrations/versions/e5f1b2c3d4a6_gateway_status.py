"""gateway status

Revision ID: e5f1b2c3d4a6
Revises: d41c0a7e5b21
Create Date: 2026-12-07 15:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'e5f1b2c3d4a6'
down_revision: str | None = 'd41c0a7e5b21'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('gateway_status',
    sa.Column('device_id', sa.Uuid(), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('gateway_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_gateway_status_device_id_devices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('device_id', name=op.f('pk_gateway_status'))
    )


def downgrade() -> None:
    op.drop_table('gateway_status')
