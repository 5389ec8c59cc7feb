"""The node serves the web console at `/`: its config, cache headers, CSP, deep links, and never
in the way of the API."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import NodeFactory

INDEX = '<!doctype html><html><head><script type="module" src="/assets/index-abc123.js">'
SCRIPT = "console.log('yunfab');"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """A tiny built console: index.html, a hashed asset and a file beside index.html."""
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX + "</head><body></body></html>")
    (root / "assets" / "index-abc123.js").write_text(SCRIPT)
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /\n")
    (tmp_path / "secret.txt").write_text("not the console's")
    return root


async def test_config_names_the_hub_the_console_client_and_this_nodes_urls(
    node_factory: NodeFactory, dist: Path
) -> None:
    async with node_factory(
        console_dir=dist, hub_url="https://hub.example.cn", public_url="https://zj.example.cn"
    ) as node:
        response = await node.client.get("/console/config.json")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"
    assert response.json() == {
        "issuer": "https://hub.example.cn",
        "clientId": "yunfab-console",
        "redirectUri": "https://zj.example.cn/auth/callback",
        "postLogoutRedirectUri": "https://zj.example.cn/",
        "resource": "https://zj.example.cn",
        "graphqlUrl": "https://zj.example.cn/graphql",
        "graphqlWsUrl": "wss://zj.example.cn/graphql",
        "nodeName": "zj-textile",
        "service": "node",
    }


async def test_index_is_revalidated_assets_are_immutable_and_the_csp_allows_the_hub(
    node_factory: NodeFactory, dist: Path
) -> None:
    async with node_factory(console_dir=dist, hub_url="http://hub.test:8700") as node:
        index = await node.client.get("/")
        asset = await node.client.get("/assets/index-abc123.js")
        robots = await node.client.get("/robots.txt")
        head = await node.client.head("/")
    assert index.status_code == 200
    assert index.text.startswith(INDEX)
    assert index.headers["content-type"].startswith("text/html")
    assert index.headers["cache-control"] == "no-cache"
    csp = index.headers["content-security-policy"]
    assert "script-src 'self';" in csp
    assert "frame-ancestors 'none'" in csp
    connect = csp.split("connect-src ", 1)[1].split(";", 1)[0].split()
    assert {"'self'", "ws://zj-textile.test", "http://hub.test:8700"} <= set(connect)
    assert asset.status_code == 200
    assert asset.text == SCRIPT
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert robots.status_code == 200
    assert robots.headers["cache-control"] == "no-cache"
    assert head.status_code == 200


async def test_deep_links_open_the_console_and_missing_files_are_404(
    node_factory: NodeFactory, dist: Path
) -> None:
    async with node_factory(console_dir=dist) as node:
        for path in ("/orders/SO-202603-0001", "/factories/acme-weaving", "/auth/callback?code=x"):
            response = await node.client.get(path)
            assert response.status_code == 200, path
            assert response.text.startswith(INDEX), path
            assert response.headers["cache-control"] == "no-cache"
        for path in ("/assets/index-gone.js", "/favicon.ico", "/assets/../../secret.txt"):
            response = await node.client.get(path)
            assert response.status_code == 404, path
            assert "not the console's" not in response.text
        # A deep link is answered for reading only: a POST to it is the API's 404/405.
        assert (await node.client.post("/orders/SO-1")).status_code in (404, 405)


async def test_the_console_never_shadows_api_paths(node_factory: NodeFactory, dist: Path) -> None:
    async with node_factory(console_dir=dist) as node:
        for path in (
            "/api/v1/no-such-thing",
            "/graphiql/nothing",
            "/oauth/nothing",
            "/health/x",
            "/docs/nothing",
            "/web-assets/nothing.js",
            "/console/nothing",
            "/metrics/x",
            "/graphql/x",
        ):
            response = await node.client.get(path)
            assert response.status_code == 404, path
            assert response.headers["content-type"].startswith("application/json"), path
            assert response.json()["error"] == "not_found", path
        live = await node.client.get("/healthz")
        assert live.status_code == 200
        assert live.headers["content-type"].startswith("application/json")
        graphql = await node.client.post("/graphql", json={"query": "{ __typename }"})
        assert graphql.json() == {"data": {"__typename": "Query"}}


async def test_without_a_built_console_the_root_says_how_to_build_it(
    node_factory: NodeFactory, tmp_path: Path
) -> None:
    async with node_factory(console_dir=tmp_path / "nowhere") as node:
        response = await node.client.get("/")
        deep = await node.client.get("/orders")
        config = await node.client.get("/console/config.json")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert "npm run build" in response.text
    assert "scripts/bootstrap" in response.text
    assert deep.status_code == 503
    assert config.status_code == 200
