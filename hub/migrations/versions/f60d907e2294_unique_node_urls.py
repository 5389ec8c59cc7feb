"""unique node urls

A node's URL is enrolled once and belongs to one node. Where nodes already share a URL (one moved
its URL onto another's before URLs were fixed), the node that registered first keeps it and the
others' URLs are cleared: such a node enrols a URL again at its next registration, and a hub
operator can set one (changeRegionalNodeUrl). The cleared nodes are logged by name.

Revision ID: f60d907e2294
Revises: 5d0c1f7e2a91
Create Date: 2026-12-06 03:30:46.093846
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'f60d907e2294'
down_revision: str | None = '5d0c1f7e2a91'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

_LATER_HOLDER = """
    regional_nodes.base_url IS NOT NULL AND EXISTS (
        SELECT 1 FROM regional_nodes AS earlier
        WHERE earlier.base_url = regional_nodes.base_url
          AND (earlier.registered_at < regional_nodes.registered_at
               OR (earlier.registered_at = regional_nodes.registered_at
                   AND earlier.id < regional_nodes.id)))
"""


def upgrade() -> None:
    with op.batch_alter_table('regional_nodes', schema=None) as batch_op:
        batch_op.alter_column('base_url',
               existing_type=sa.VARCHAR(length=2048),
               nullable=True)

    connection = op.get_bind()
    cleared = connection.execute(
        sa.text(f"SELECT name, base_url FROM regional_nodes WHERE {_LATER_HOLDER}")
    ).all()
    for name, url in cleared:
        log.warning(
            "node %s shared its URL %s with a node registered earlier: its URL is cleared until "
            "it registers again or a hub operator sets one", name, url,
        )
    connection.execute(sa.text(f"UPDATE regional_nodes SET base_url = NULL WHERE {_LATER_HOLDER}"))

    with op.batch_alter_table('regional_nodes', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_regional_nodes_base_url'), ['base_url'])


def downgrade() -> None:
    with op.batch_alter_table('regional_nodes', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_regional_nodes_base_url'), type_='unique')
    # A URL that never resolves (RFC 2606) for nodes without one, as the column was NOT NULL.
    op.execute(
        "UPDATE regional_nodes SET base_url = 'https://unenrolled.invalid/' || name "
        "WHERE base_url IS NULL"
    )
    with op.batch_alter_table('regional_nodes', schema=None) as batch_op:
        batch_op.alter_column('base_url',
               existing_type=sa.VARCHAR(length=2048),
               nullable=False)
