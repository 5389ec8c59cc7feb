"""The committed GraphQL schemas are what the code serves.

Regenerate with `yunfab graphql-schema hub|node --write`.
"""

from __future__ import annotations

import pytest

from yunfab_cli.main import Service, schema_sdl


@pytest.mark.parametrize("service", list(Service))
def test_committed_schema_is_current(service: Service) -> None:
    path, sdl = schema_sdl(service)
    assert path.read_text() == sdl, (
        f"{path} is stale: run `yunfab graphql-schema {service.value} --write`"
    )
