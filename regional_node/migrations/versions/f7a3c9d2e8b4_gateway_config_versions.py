"""gateway config versions

Revision ID: f7a3c9d2e8b4
Revises: e5f1b2c3d4a6
Create Date: 2026-12-07 15:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'f7a3c9d2e8b4'
down_revision: str | None = 'e5f1b2c3d4a6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('gateway_config_versions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('device_id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_gateway_config_versions_device_id_devices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gateway_config_versions')),
    sa.UniqueConstraint('device_id', 'version', name=op.f('uq_gateway_config_versions_device_id_version'))
    )
    with op.batch_alter_table('gateway_config_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gateway_config_versions_device_id'), ['device_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('gateway_config_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gateway_config_versions_device_id'))

    op.drop_table('gateway_config_versions')
