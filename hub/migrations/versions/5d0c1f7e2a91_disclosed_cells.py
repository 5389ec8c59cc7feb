"""disclosed cells of aggregation-only agreements, per reading organization and product

Revision ID: 5d0c1f7e2a91
Revises: 9189a53b8527
Create Date: 2026-12-06 03:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '5d0c1f7e2a91'
down_revision: str | None = '9189a53b8527'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('data_disclosed_cells',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('consumer_org', sa.String(length=64), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('contract_id', sa.Uuid(), nullable=True),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('members', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['data_contracts.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['product_id'], ['data_products.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('consumer_org', 'product_id', 'digest')
    )
    with op.batch_alter_table('data_disclosed_cells', schema=None) as batch_op:
        batch_op.create_index('ix_data_disclosed_cells_reader', ['consumer_org', 'product_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('data_disclosed_cells', schema=None) as batch_op:
        batch_op.drop_index('ix_data_disclosed_cells_reader')
    op.drop_table('data_disclosed_cells')
