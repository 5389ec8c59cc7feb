"""data product outbox

Revision ID: c3a98cede49f
Revises: 950d995f62d6
Create Date: 2026-11-23 06:57:56.350849
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'c3a98cede49f'
down_revision: str | None = '950d995f62d6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('data_product_streams',
    sa.Column('product', sa.String(length=63), nullable=False),
    sa.Column('next_seq', sa.Integer(), nullable=False),
    sa.Column('needs_snapshot', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('product', name=op.f('pk_data_product_streams'))
    )
    op.create_table('data_product_batches',
    sa.Column('product', sa.String(length=63), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('snapshot', sa.Integer(), nullable=True),
    sa.Column('last', sa.Boolean(), nullable=True),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['product'], ['data_product_streams.product'], name=op.f('fk_data_product_batches_product_data_product_streams'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('product', 'seq', name=op.f('pk_data_product_batches'))
    )
    op.create_table('data_product_rows',
    sa.Column('product', sa.String(length=63), nullable=False),
    sa.Column('row_key', sa.String(length=255), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['product'], ['data_product_streams.product'], name=op.f('fk_data_product_rows_product_data_product_streams'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('product', 'row_key', name=op.f('pk_data_product_rows'))
    )


def downgrade() -> None:
    op.drop_table('data_product_rows')
    op.drop_table('data_product_batches')
    op.drop_table('data_product_streams')
