#!/usr/bin/env python3
"""Draw the import contracts in pyproject.toml ([tool.importlinter]) as text.

`python3 scripts/architecture.py` prints the picture that docs/architecture.md shows between its
`<!-- layers:begin -->` and `<!-- layers:end -->` markers; `--write` puts it there. The picture is
made from the contracts `lint-imports` enforces, so it cannot drift from them
(tests/test_architecture.py checks the file).
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
BEGIN, END = "<!-- layers:begin -->", "<!-- layers:end -->"


def _layer(spec: str) -> str:
    """One layer: `a | b` are independent siblings, `a : b` siblings that may import each other."""
    if "|" in spec:
        return "  ║  ".join(part.strip() for part in spec.split("|"))
    return "  ·  ".join(part.strip() for part in spec.split(":"))


def draw(config: dict[str, object]) -> str:
    linter = config["tool"]["importlinter"]  # type: ignore[index]
    out: list[str] = []
    for contract in linter["contracts"]:
        out.append(f"{contract['name']}  [{contract['id']}]")
        if contract["type"] == "layers":
            containers = contract.get("containers", [])
            if containers:
                out.append(f"  inside {', '.join(containers)}:")
            rows = [_layer(spec) for spec in contract["layers"]]
            width = max(len(row) for row in rows) + 4
            out.append("  ┌" + "─" * width + "┐  top")
            for i, row in enumerate(rows):
                if i:
                    out.append("  ├" + "─" * width + "┤")
                out.append("  │  " + row.ljust(width - 2) + "│")
            out.append("  └" + "─" * width + "┘  bottom")
        elif contract["type"] == "forbidden":
            for source in contract["source_modules"]:
                out.append(f"  {source} never imports (directly or through others):")
            out.append("    " + ", ".join(contract["forbidden_modules"]))
        else:
            out.append(f"  ({contract['type']} contract)")
        ignored = contract.get("ignore_imports", [])
        if ignored:
            out.append("  allowed exceptions (each commented in pyproject.toml):")
            out.extend(f"    {line}" for line in ignored)
        out.append("")
    out.append("A layer may import the layers below it, never those above; ║ separates")
    out.append("independent siblings, · siblings that may import each other. Imports inside")
    out.append("functions count too.")
    return "\n".join(out)


def picture() -> str:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return draw(tomllib.load(f))


def block(text: str) -> str:
    return f"{BEGIN}\n```text\n{text}\n```\n{END}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"update {DOC.relative_to(ROOT)}")
    args = parser.parse_args()
    text = picture()
    if not args.write:
        sys.stdout.write(text + "\n")
        return 0
    doc = DOC.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(doc):
        sys.stderr.write(f"{DOC}: no {BEGIN} ... {END} block\n")
        return 1
    DOC.write_text(pattern.sub(lambda _: block(text), doc), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
