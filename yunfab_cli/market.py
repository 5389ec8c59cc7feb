"""`yunfab market ...`: a publisher's and a reviewer's tools for the hub's market (issue #9).

`keygen` makes an Ed25519 key; `publish` signs a release (manifest + artifact digest) and uploads
it; `sign` only signs, into a file the web console uploads; `review` countersigns a release.
Each prints one JSON object on stdout; a refusal prints the
hub's `{"error": code, "detail": ...}` on stderr and exits 1; bad options exit 2. Credentials as
for every command that calls a server (`yunfab_cli.credentials`: --token / YUNFAB_TOKEN, then
YUNFAB_CLIENT_ID + YUNFAB_CLIENT_SECRET, then `yunfab login`); --token-env and --client-id with
--client-secret-env still work.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from yunfab import market
from yunfab.console import fail
from yunfab.errors import YunfabError
from yunfab_cli.credentials import Target, bearer_for, client_token, hub_url

market_app = typer.Typer(
    help="Publish and review releases on a hub's knowledge and app market.", no_args_is_help=True
)

HubUrl = Annotated[
    str | None,
    typer.Option(
        "--hub", help="The hub's base URL, e.g. https://hub.example (env YUNFAB_HUB_URL)."
    ),
]
Token = Annotated[
    str | None,
    typer.Option("--token", help="A bearer token (env YUNFAB_TOKEN).", show_default=False),
]
TokenEnv = Annotated[
    str | None,
    typer.Option(help="Name of an environment variable holding a Bearer access token."),
]
ClientId = Annotated[str | None, typer.Option(help="OAuth2 client id (client credentials).")]
ClientSecretEnv = Annotated[
    str,
    typer.Option(help="Environment variable holding the client secret."),
]
KeyFile = Annotated[Path, typer.Option("--key", help="The Ed25519 private key (PEM).")]


def _echo(payload: dict[str, Any]) -> None:
    typer.echo(json.dumps(payload, ensure_ascii=False))


def _private_key(path: Path) -> Any:
    try:
        return market.load_private_key(path.read_bytes())
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")
    except YunfabError as exc:
        fail(f"{path}: {exc.detail}")


def _token(
    hub: str,
    token: str | None,
    token_env: str | None,
    client_id: str | None,
    secret_env: str,
    scope: str,
) -> str:
    if token_env:
        given = os.environ.get(token_env)
        if not given:
            fail(f"environment variable {token_env} is empty")
        return given
    if not client_id:
        return bearer_for(Target.hub(hub), token=token, scope=scope)
    secret = os.environ.get(secret_env)
    if not secret:
        fail(f"environment variable {secret_env} (the client secret) is empty")
    return client_token(hub, client_id, secret, audience=Target.hub(hub).audience, scope=scope)


def _refused(response: httpx.Response) -> None:
    try:
        body = response.json()
    except ValueError:
        body = {"error": "http_error", "detail": response.text[:500]}
    typer.echo(json.dumps(body, ensure_ascii=False), err=True)
    raise typer.Exit(1)


@market_app.command("keygen")
def keygen_command(
    out: Annotated[Path, typer.Option(help="Where to write the private key (PEM, owner-only).")],
) -> None:
    """Make an Ed25519 key; prints its public half to register at the hub."""
    if out.exists():
        fail(f"{out} exists: not overwriting a key")
    pem, public = market.generate_key()
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    _echo(
        {
            "private_key": str(out),
            "public_key": public,
            "key_id": market.key_id(market.decode_public_key(public)),
        }
    )


@market_app.command("publish")
def publish_command(
    manifest: Annotated[Path, typer.Option(help="The release's manifest (TOML or JSON).")],
    artifact: Annotated[Path, typer.Option(help="The artifact file.")],
    key: KeyFile,
    hub: HubUrl = None,
    token: Token = None,
    token_env: TokenEnv = None,
    client_id: ClientId = None,
    client_secret_env: ClientSecretEnv = "YUNFAB_CLIENT_SECRET",
) -> None:
    """Sign a release (manifest + artifact sha256) and upload it; prints the release."""
    private = _private_key(key)
    try:
        text = manifest.read_text()
        parsed = market.Manifest.load(text)
        digest = market.sha256_file(artifact)
    except OSError as exc:
        fail(f"cannot read {exc.filename}: {exc.strerror}")
    except YunfabError as exc:
        fail(f"{manifest}: {exc.detail}")
    public = market.public_key_b64(private)
    key_id = market.key_id(market.decode_public_key(public))
    signature = market.sign(private, market.signing_payload(parsed, digest))
    url = hub_url(hub)
    bearer = _token(url, token, token_env, client_id, client_secret_env, "market:publish")
    with httpx.Client(base_url=url, timeout=600) as client:
        with artifact.open("rb") as handle:
            response = client.post(
                "/api/v1/market/releases",
                data={
                    "manifest": text,
                    "signature": signature,
                    "key_id": key_id,
                    "artifact_sha256": digest,
                },
                files={"artifact": (artifact.name, handle, "application/octet-stream")},
                headers={"authorization": f"Bearer {bearer}"},
            )
    if response.status_code != 201:
        _refused(response)
    _echo(response.json())


@market_app.command("sign")
def sign_command(
    manifest: Annotated[Path, typer.Option(help="The release's manifest (TOML or JSON).")],
    artifact: Annotated[Path, typer.Option(help="The artifact file.")],
    key: KeyFile,
    out: Annotated[Path, typer.Option(help="Where to write the signature file (JSON).")],
    review: Annotated[
        bool, typer.Option("--review", help="A reviewer's countersignature, not a publisher's.")
    ] = False,
) -> None:
    """Sign a release offline, without uploading: the signature file (key id, signature,
    artifact sha256) is what the hub's web console uploads beside the manifest and artifact."""
    if out.exists():
        fail(f"{out} exists: not overwriting it")
    private = _private_key(key)
    try:
        parsed = market.Manifest.load(manifest.read_text())
        digest = market.sha256_file(artifact)
    except OSError as exc:
        fail(f"cannot read {exc.filename}: {exc.strerror}")
    except YunfabError as exc:
        fail(f"{manifest}: {exc.detail}")
    payload = (market.review_payload if review else market.signing_payload)(parsed, digest)
    signed = {
        "kind": "reviewer" if review else "publisher",
        "name": parsed.name,
        "version": parsed.version,
        "key_id": market.key_id(market.decode_public_key(market.public_key_b64(private))),
        "signature": market.sign(private, payload),
        "artifact_sha256": digest,
    }
    out.write_text(json.dumps(signed, indent=2) + "\n")
    _echo(signed)


_RELEASE = "query($id: UUID!) { marketRelease(id: $id) { manifest artifactSha256 } }"
_REVIEW = """
mutation($id: UUID!, $key: String!, $sig: String!) {
  reviewRelease(releaseId: $id, keyId: $key, signature: $sig) { id version verified }
}
"""


@market_app.command("review")
def review_command(
    release: Annotated[str, typer.Option(help="The release's id.")],
    key: KeyFile,
    hub: HubUrl = None,
    token: Token = None,
    token_env: TokenEnv = None,
    client_id: ClientId = None,
    client_secret_env: ClientSecretEnv = "YUNFAB_CLIENT_SECRET",
) -> None:
    """Countersign a release as a hub reviewer (a registered REVIEWER key)."""
    private = _private_key(key)
    url = hub_url(hub)
    bearer = _token(url, token, token_env, client_id, client_secret_env, "market:review")
    with httpx.Client(base_url=url, timeout=60) as client:
        headers = {"authorization": f"Bearer {bearer}"}

        def graphql(query: str, variables: dict[str, Any]) -> dict[str, Any]:
            response = client.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers
            )
            body = response.json()
            if body.get("errors"):
                error = body["errors"][0]
                code = str(error.get("extensions", {}).get("code", "error")).lower()
                typer.echo(json.dumps({"error": code, "detail": error.get("message")}), err=True)
                raise typer.Exit(1)
            data: dict[str, Any] = body["data"]
            return data

        found = graphql(_RELEASE, {"id": release})["marketRelease"]
        manifest = market.Manifest.from_data(found["manifest"])
        payload = market.review_payload(manifest, found["artifactSha256"])
        public = market.public_key_b64(private)
        signed = graphql(
            _REVIEW,
            {
                "id": release,
                "key": market.key_id(market.decode_public_key(public)),
                "sig": market.sign(private, payload),
            },
        )
    _echo(signed["reviewRelease"])
