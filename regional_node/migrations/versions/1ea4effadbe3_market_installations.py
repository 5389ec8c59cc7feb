"""market installations: cached trust roots, installation records, and disabled routings
and vision models (a revoked or removed market release)

Revision ID: 1ea4effadbe3
Revises: c3a98cede49f
Create Date: 2026-11-23 07:26:23.677437
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '1ea4effadbe3'
down_revision: str | None = 'c3a98cede49f'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('market_trust_keys',
    sa.Column('role', sa.Enum('publisher', 'reviewer', name='trustrole', native_enum=False, length=16), nullable=False),
    sa.Column('key_id', sa.String(length=64), nullable=False),
    sa.Column('organization_id', sa.String(length=64), nullable=True),
    sa.Column('public_key', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('role', 'key_id', name=op.f('pk_market_trust_keys'))
    )
    op.create_table('market_installations',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('release_id', sa.String(length=64), nullable=False),
    sa.Column('listing', sa.String(length=100), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('state', sa.Enum('installed', 'failed', 'disabled', 'removed', name='installstate', native_enum=False, length=16), nullable=False),
    sa.Column('error', sa.String(length=64), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('artifact_file', sa.String(length=300), nullable=True),
    sa.Column('routing_id', sa.Uuid(), nullable=True),
    sa.Column('model_id', sa.Uuid(), nullable=True),
    sa.Column('reported', sa.String(length=16), nullable=True),
    sa.Column('usage_reported', sa.Integer(), nullable=False),
    sa.Column('usage_pending', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['vision_models.id'], name=op.f('fk_market_installations_model_id_vision_models')),
    sa.ForeignKeyConstraint(['routing_id'], ['routings.id'], name=op.f('fk_market_installations_routing_id_routings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_market_installations'))
    )
    with op.batch_alter_table('market_installations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_market_installations_release_id'), ['release_id'], unique=False)

    with op.batch_alter_table('routings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disabled_reason', sa.String(length=300), nullable=True))

    with op.batch_alter_table('vision_models', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disabled_reason', sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('vision_models', schema=None) as batch_op:
        batch_op.drop_column('disabled_reason')

    with op.batch_alter_table('routings', schema=None) as batch_op:
        batch_op.drop_column('disabled_reason')

    with op.batch_alter_table('market_installations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_market_installations_release_id'))

    op.drop_table('market_installations')
    op.drop_table('market_trust_keys')