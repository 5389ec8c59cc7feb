"""Every `yunfab ...` command the README tells people to run exists, with the options it names:
the README is what a new operator, engineer or developer follows first (#16)."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from tests.test_docs_commands import problems, quoted_commands
from yunfab_cli.main import app

README = Path(__file__).parent.parent / "README.md"


def test_commands_named_in_the_readme_exist() -> None:
    root = typer.main.get_command(app)
    commands = list(dict.fromkeys(quoted_commands(README.read_text())))
    assert any(command.startswith("yunfab login") for command in commands)
    found = [f"{command}: {problem}" for command in commands for problem in problems(command, root)]
    assert found == []


def test_graphql_the_readme_shows_is_valid_on_the_hub_or_a_node() -> None:
    """Each document the README gives people to paste into GraphiQL validates against a
    committed schema (the hub's or the node's)."""
    from graphql import build_schema, parse, validate

    text = README.read_text()
    documents = re.findall(r"```graphql\n(.*?)```", text, re.S)
    documents += re.findall(r"`((?:\{ [a-z]|query |mutation \{|subscription \{)[^`]*)`", text)
    assert len(documents) >= 6
    root = README.parent
    schemas = [
        build_schema((root / path).read_text())
        for path in ("hub/graphql/schema.graphql", "regional_node/graphql/schema.graphql")
    ]
    invalid = [
        document
        for document in documents
        if all(validate(schema, parse(document)) for schema in schemas)
    ]
    assert invalid == []
