"""unique node urls

A node's URL is enrolled once and belongs to one node. Where nodes already share a URL (one moved
its URL onto another's before URLs were fixed), no holder can be told from the node that moved
there, which may have registered first: every node sharing a URL is given a placeholder,
`https://url-shared.invalid/<name>`, that the hub never calls (`check_node_url` refuses `.invalid`)
and that the node cannot change (its next registration at any URL answers `node_url_fixed`). A hub
operator moves each to its own URL (`yunfab hub node move NAME URL`, changeRegionalNodeUrl); they
are logged by name. URLs stored with a trailing dot in the host name are compared, and kept,
without it, as the hub now writes them. The placeholder the downgrade gives nodes without a URL
(`https://unenrolled.invalid/<name>`) goes back to none: such a node enrols at its next
registration.

Revision ID: f60d907e2294
Revises: 5d0c1f7e2a91
Create Date: 2026-12-06 03:30:46.093846
"""

import logging
from collections import defaultdict
from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa
from alembic import op


revision: str = 'f60d907e2294'
down_revision: str | None = '5d0c1f7e2a91'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")


def _one_spelling(url: str) -> str:
    """The URL as the hub now writes it: without a trailing dot in the host name (URLs were
    already stored lower-case, without default port or trailing slash)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host.endswith(".") or not host.rstrip("."):
        return url
    netloc = parts.netloc.rpartition("@")
    at_host = netloc[2].replace(host, host.rstrip("."), 1)
    return urlunsplit(parts._replace(netloc=netloc[0] + netloc[1] + at_host))


def upgrade() -> None:
    with op.batch_alter_table('regional_nodes', schema=None) as batch_op:
        batch_op.alter_column('base_url',
               existing_type=sa.VARCHAR(length=2048),
               nullable=True)

    connection = op.get_bind()
    connection.execute(sa.text(
        "UPDATE regional_nodes SET base_url = NULL "
        "WHERE base_url = 'https://unenrolled.invalid/' || name"
    ))
    holders: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for name, url in connection.execute(sa.text(
        "SELECT name, base_url FROM regional_nodes WHERE base_url IS NOT NULL ORDER BY name"
    )):
        holders[_one_spelling(url)].append((name, url))
    set_url = sa.text("UPDATE regional_nodes SET base_url = :url WHERE name = :name")
    for url, nodes in holders.items():
        if len(nodes) == 1:
            name, stored = nodes[0]
            if stored != url:
                connection.execute(set_url, {"name": name, "url": url})
            continue
        for name, stored in nodes:
            log.warning(
                "node %s shared its URL %s with %s: it is at a placeholder the hub never calls "
                "until a hub operator moves it to its own URL (yunfab hub node move %s URL)",
                name, stored, ", ".join(other for other, _ in nodes if other != name), name,
            )
            placeholder = f"https://url-shared.invalid/{name}"
            connection.execute(set_url, {"name": name, "url": placeholder})

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
