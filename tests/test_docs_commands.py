"""Every `yunfab ...` command the docs tell people to run exists, with the options they name:
a renamed or removed command fails here, not in a reader's terminal."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
import typer.main

from yunfab_cli.main import app

DOCS = sorted((Path(__file__).parent.parent / "docs").glob("*.md"))
_SPAN = re.compile(r"`(yunfab [^`]+)`")
_FENCE = re.compile(r"```[a-z]*\n(.*?)```", re.S)


def quoted_commands(text: str) -> Iterator[str]:
    """`yunfab ...` in code spans, and lines of code blocks that run yunfab (after a prompt or
    `kubectl ... --`)."""
    for match in _SPAN.finditer(text):
        yield " ".join(match.group(1).split())
    for block in _FENCE.findall(text):
        for line in block.splitlines():
            before, found, rest = line.partition("yunfab ")
            if found and (not before.strip() or before.rstrip().endswith(("$", "--"))):
                yield "yunfab " + rest.split("#")[0].replace("\\", " ").strip()


def problems(command: str, root: click.Command) -> list[str]:
    """What in `command` the CLI does not have: a subcommand (of `a|b` alternatives, each) or
    a `--option` of the command reached."""
    words = command.split()[1:]
    current, path = root, ["yunfab"]
    while isinstance(current, click.Group) and words and words[0] in current.commands:
        current = current.commands[words[0]]
        path.append(words.pop(0))
    if isinstance(current, click.Group):
        if words and "|" in words[0]:
            return [
                f"no {' '.join(path)} {name}"
                for name in words[0].split("|")
                if name not in current.commands
            ]
        if words and re.fullmatch(r"[a-z][a-z-]*", words[0]):
            return [f"no command {words[0]!r} under {' '.join(path)}"]
        return []
    options = {opt for param in current.params for opt in (*param.opts, *param.secondary_opts)}
    # Usage notation around an option (`[--name N]`, `--a|--b`) is not part of its name.
    named = [part.split("=")[0].strip("[](),.") for word in words for part in word.split("|")]
    return [
        f"{' '.join(path)} has no option {word}"
        for word in named
        if word.startswith("--") and word not in (*options, "--help")
    ]


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: path.name)
def test_commands_named_in_the_docs_exist(doc: Path) -> None:
    root = typer.main.get_command(app)
    found = [
        f"{command}: {problem}"
        for command in dict.fromkeys(quoted_commands(doc.read_text()))
        for problem in problems(command, root)
    ]
    assert found == []


def test_the_check_catches_what_does_not_exist() -> None:
    root = typer.main.get_command(app)
    assert problems("yunfab node console device provision", root)
    assert problems("yunfab vision inspect x.png --no-such-option", root)
    assert problems("yunfab market keygen|countersign", root) == ["no yunfab market countersign"]
    assert problems("yunfab vision inspect x.png --sku a [--heatmap-dir h]", root) == []
