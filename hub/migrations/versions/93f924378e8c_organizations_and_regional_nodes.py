"""organizations and regional nodes

Revision ID: 93f924378e8c
Revises:
Create Date: 2026-11-22 20:46:31.403222
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '93f924378e8c'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('organizations',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('hub_operator', 'node_operator', 'publisher', 'factory', 'consumer', name='organizationkind', native_enum=False, length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organizations')),
    sa.UniqueConstraint('name', name=op.f('uq_organizations_name'))
    )
    op.create_table('regional_nodes',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=63), nullable=False),
    sa.Column('region', sa.String(length=16), nullable=False),
    sa.Column('industry', sa.String(length=63), nullable=False),
    sa.Column('base_url', sa.String(length=2048), nullable=False),
    sa.Column('status', sa.Enum('online', 'offline', name='nodestatus', native_enum=False, length=16), nullable=False),
    sa.Column('last_heartbeat', sa.DateTime(timezone=True), nullable=True),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('operator_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['operator_id'], ['organizations.id'], name=op.f('fk_regional_nodes_operator_id_organizations'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_regional_nodes')),
    sa.UniqueConstraint('name', name=op.f('uq_regional_nodes_name'))
    )
    with op.batch_alter_table('regional_nodes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_regional_nodes_industry'), ['industry'], unique=False)
        batch_op.create_index(batch_op.f('ix_regional_nodes_last_heartbeat'), ['last_heartbeat'], unique=False)
        batch_op.create_index(batch_op.f('ix_regional_nodes_operator_id'), ['operator_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_regional_nodes_region'), ['region'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('regional_nodes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_regional_nodes_region'))
        batch_op.drop_index(batch_op.f('ix_regional_nodes_operator_id'))
        batch_op.drop_index(batch_op.f('ix_regional_nodes_last_heartbeat'))
        batch_op.drop_index(batch_op.f('ix_regional_nodes_industry'))

    op.drop_table('regional_nodes')
    op.drop_table('organizations')
