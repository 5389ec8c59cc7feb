"""alert notifications contact points silences

Revision ID: c90e04d6db64
Revises: 1ea4effadbe3
Create Date: 2026-12-06 07:10:44.978462
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'c90e04d6db64'
down_revision: str | None = '1ea4effadbe3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('contact_points',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('factory_id', sa.Uuid(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('webhook', 'wecom', 'dingtalk', 'feishu', 'email', name='contactkind', native_enum=False, length=32), nullable=False),
    sa.Column('target', sa.String(length=300), nullable=False),
    sa.Column('url_sealed', sa.Text(), nullable=True),
    sa.Column('secret_sealed', sa.Text(), nullable=True),
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['factory_id'], ['factories.id'], name=op.f('fk_contact_points_factory_id_factories'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_points'))
    )
    with op.batch_alter_table('contact_points', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_points_factory_id'), ['factory_id'], unique=False)

    op.create_table('alert_rule_contact_points',
    sa.Column('rule_id', sa.Uuid(), nullable=False),
    sa.Column('contact_point_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['contact_point_id'], ['contact_points.id'], name=op.f('fk_alert_rule_contact_points_contact_point_id_contact_points'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rule_id'], ['alert_rules.id'], name=op.f('fk_alert_rule_contact_points_rule_id_alert_rules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('rule_id', 'contact_point_id', name=op.f('pk_alert_rule_contact_points'))
    )
    with op.batch_alter_table('alert_rule_contact_points', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_rule_contact_points_contact_point_id'), ['contact_point_id'], unique=False)

    op.create_table('alert_silences',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('rule_id', sa.Uuid(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('daily_from', sa.String(length=5), nullable=True),
    sa.Column('daily_to', sa.String(length=5), nullable=True),
    sa.Column('comment', sa.String(length=500), nullable=True),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['rule_id'], ['alert_rules.id'], name=op.f('fk_alert_silences_rule_id_alert_rules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_silences'))
    )
    with op.batch_alter_table('alert_silences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_silences_rule_id'), ['rule_id'], unique=False)

    op.create_table('alert_notifications',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('alert_id', sa.Uuid(), nullable=True),
    sa.Column('contact_point_id', sa.Uuid(), nullable=False),
    sa.Column('event', sa.Enum('opened', 'escalated', 'closed', 'test', name='notificationevent', native_enum=False, length=32), nullable=False),
    sa.Column('status', sa.Enum('pending', 'delivered', 'failed', 'silenced', name='notificationstatus', native_enum=False, length=32), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_alert_notifications_alert_id_alerts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_point_id'], ['contact_points.id'], name=op.f('fk_alert_notifications_contact_point_id_contact_points'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_notifications'))
    )
    with op.batch_alter_table('alert_notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_notifications_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_notifications_contact_point_id'), ['contact_point_id'], unique=False)
        batch_op.create_index('ix_alert_notifications_due', ['status', 'next_attempt_at'], unique=False)

    op.create_table('alert_delivery_attempts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('notification_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['notification_id'], ['alert_notifications.id'], name=op.f('fk_alert_delivery_attempts_notification_id_alert_notifications'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_delivery_attempts'))
    )
    with op.batch_alter_table('alert_delivery_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_delivery_attempts_notification_id'), ['notification_id'], unique=False)

    with op.batch_alter_table('alert_rules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('for_s', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('clear_above', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('clear_below', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('clear_for_s', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('escalate_above', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('escalate_below', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('escalate_after_s', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('escalate_to', sa.Enum('info', 'warning', 'critical', name='severity', native_enum=False, length=32), nullable=True))

    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acknowledge_note', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_column('escalated_at')
        batch_op.drop_column('acknowledge_note')

    with op.batch_alter_table('alert_rules', schema=None) as batch_op:
        batch_op.drop_column('escalate_to')
        batch_op.drop_column('escalate_after_s')
        batch_op.drop_column('escalate_below')
        batch_op.drop_column('escalate_above')
        batch_op.drop_column('clear_for_s')
        batch_op.drop_column('clear_below')
        batch_op.drop_column('clear_above')
        batch_op.drop_column('for_s')

    with op.batch_alter_table('alert_delivery_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_delivery_attempts_notification_id'))

    op.drop_table('alert_delivery_attempts')
    with op.batch_alter_table('alert_notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_notifications_due')
        batch_op.drop_index(batch_op.f('ix_alert_notifications_contact_point_id'))
        batch_op.drop_index(batch_op.f('ix_alert_notifications_alert_id'))

    op.drop_table('alert_notifications')
    with op.batch_alter_table('alert_silences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_silences_rule_id'))

    op.drop_table('alert_silences')
    with op.batch_alter_table('alert_rule_contact_points', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_rule_contact_points_contact_point_id'))

    op.drop_table('alert_rule_contact_points')
    with op.batch_alter_table('contact_points', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_points_factory_id'))

    op.drop_table('contact_points')
