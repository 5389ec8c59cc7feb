"""GraphiQL that works without the internet.

Strawberry's GraphiQL page loads React and GraphiQL from a CDN, so on an intranet or an air-gapped
plant network it stays blank. `yunfab graphiql-assets` fetches exactly the files that page
references from the npm registry (`npm pack`), checks each against the page's subresource
integrity hash, and stores them; a development server then serves them itself and rewrites the
page to use them. Without the files the page falls back to the CDN.
"""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from strawberry.http.ides import get_graphql_ide_html

CDN = "https://unpkg.com/"
MOUNT = "/graphiql-assets/"
DEFAULT_ASSETS_DIR = Path("~/.cache/yunfab/graphiql").expanduser()

_ASSET = re.compile(
    r'(?:src|href)="https://unpkg\.com/(?P<package>(?:@[^/@"]+/)?[^/@"]+)@(?P<version>[^/"]+)/'
    r'(?P<path>[^"]+)"\s+integrity="(?P<integrity>sha384-[^"]+)"'
)


@dataclass(frozen=True)
class Asset:
    package: str
    version: str
    path: str
    integrity: str

    @property
    def relative(self) -> Path:
        return Path(f"{self.package}@{self.version}") / self.path

    def matches(self, content: bytes) -> bool:
        digest = base64.b64encode(hashlib.sha384(content).digest()).decode()
        return f"sha384-{digest}" == self.integrity


def page_assets(html: str | None = None) -> list[Asset]:
    html = html if html is not None else get_graphql_ide_html("graphiql")
    return [Asset(**match.groupdict()) for match in _ASSET.finditer(html)]


def assets_present(directory: Path) -> bool:
    assets = page_assets()
    return bool(assets) and all((directory / asset.relative).is_file() for asset in assets)


def local_page(directory: Path) -> str | None:
    """The GraphiQL page pointing at our own copies, or None when they are not all there."""
    if not assets_present(directory):
        return None
    return get_graphql_ide_html("graphiql").replace(CDN, MOUNT)


class FetchError(RuntimeError):
    pass


def fetch(directory: Path) -> list[Path]:
    """Fetch the page's assets with `npm pack` into `directory`; returns the files written."""
    written: list[Path] = []
    by_package: dict[tuple[str, str], list[Asset]] = {}
    for asset in page_assets():
        by_package.setdefault((asset.package, asset.version), []).append(asset)
    with tempfile.TemporaryDirectory() as scratch:
        for (package, version), assets in by_package.items():
            try:
                packed = subprocess.run(
                    ["npm", "pack", "--silent", f"{package}@{version}"],
                    cwd=scratch,
                    capture_output=True,
                    text=True,
                    check=True,
                    timeout=300,
                )
            except (OSError, subprocess.SubprocessError) as exc:
                raise FetchError(f"npm pack {package}@{version} failed: {exc}") from exc
            tarball = Path(scratch) / packed.stdout.strip().splitlines()[-1]
            with tarfile.open(tarball) as archive:
                for asset in assets:
                    member = archive.extractfile(f"package/{asset.path}")
                    if member is None:
                        raise FetchError(f"{package}@{version} has no {asset.path}")
                    content = member.read()
                    if not asset.matches(content):
                        raise FetchError(
                            f"{package}@{version}/{asset.path} fails its integrity hash"
                        )
                    target = directory / asset.relative
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(content)
                    written.append(target)
    return written
