"""gateway claim codes

Revision ID: d41c0a7e5b21
Revises: daa27801351a
Create Date: 2026-12-07 15:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'd41c0a7e5b21'
down_revision: str | None = 'daa27801351a'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('gateway_claim_codes',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('lookup', sa.String(length=16), nullable=False),
    sa.Column('secret_sha256', sa.String(length=64), nullable=False),
    sa.Column('factory_id', sa.Uuid(), nullable=False),
    sa.Column('edge_node_key', sa.String(length=63), nullable=False),
    sa.Column('namespaced', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_from', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['factory_id'], ['factories.id'], name=op.f('fk_gateway_claim_codes_factory_id_factories'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gateway_claim_codes')),
    sa.UniqueConstraint('lookup', name=op.f('uq_gateway_claim_codes_lookup'))
    )
    with op.batch_alter_table('gateway_claim_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gateway_claim_codes_factory_id'), ['factory_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('gateway_claim_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gateway_claim_codes_factory_id'))

    op.drop_table('gateway_claim_codes')
