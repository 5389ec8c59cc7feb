"""Settings read the environment with their prefix and refuse bad values with the setting's name."""

from __future__ import annotations

import pytest

from hub.settings import HubSettings
from regional_node.settings import NodeSettings
from yunfab.settings import Environment, SettingsError, load_settings, normalize_database_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///var/hub.db", "sqlite+aiosqlite:///var/hub.db"),
        ("sqlite+aiosqlite:////abs/hub.db", "sqlite+aiosqlite:////abs/hub.db"),
        (
            "postgresql://postgres@127.0.0.1/yunfab",
            "postgresql+asyncpg://postgres@127.0.0.1/yunfab",
        ),
        ("postgres://u:p@db:5433/yunfab", "postgresql+asyncpg://u:p@db:5433/yunfab"),
        ("postgresql+asyncpg://u@db/yunfab", "postgresql+asyncpg://u@db/yunfab"),
    ],
)
def test_database_urls_people_write_are_accepted(given: str, expected: str) -> None:
    assert normalize_database_url(given) == expected


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("mysql://root@localhost/yunfab", "unsupported database 'mysql'"),
        ("postgresql+psycopg2://u@db/yunfab", "unsupported driver 'psycopg2'"),
        ("sqlite://", "in-memory"),
        ("sqlite:///:memory:", "in-memory"),
        ("postgresql://u@db", "names no database"),
        ("not a url", "not a database URL"),
    ],
)
def test_bad_database_urls_are_refused_with_the_reason(given: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        normalize_database_url(given)


def test_environment_is_read_with_the_service_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUNFAB_HUB_PORT", "9100")
    monkeypatch.setenv("YUNFAB_HUB_ENV", "production")
    monkeypatch.setenv("YUNFAB_HUB_SIGNING_KEY_PASSPHRASE", "from-a-secret-store")
    monkeypatch.setenv("YUNFAB_HUB_PUBLIC_URL", "https://hub.example.cn")
    monkeypatch.setenv("YUNFAB_NODE_PORT", "9200")
    settings = load_settings(HubSettings)
    assert settings.port == 9100
    assert settings.env is Environment.PRODUCTION
    assert settings.auto_migrate is False
    # Options given on the command line win over the environment.
    assert load_settings(HubSettings, port=9300).port == 9300


def test_sqlite_in_the_data_folder_by_default(tmp_path: object) -> None:
    settings = load_settings(HubSettings, data_dir=tmp_path)
    assert settings.db_url == f"sqlite+aiosqlite:///{tmp_path}/hub.db"


@pytest.mark.parametrize(
    ("overrides", "setting", "words"),
    [
        ({"region": "zhejiang"}, "YUNFAB_NODE_REGION", "ISO 3166-2"),
        ({"name": "Bad Name"}, "YUNFAB_NODE_NAME", "lower-case"),
        ({"industry": "-x"}, "YUNFAB_NODE_INDUSTRY", "lower-case"),
        ({"port": 70000}, "YUNFAB_NODE_PORT", "65535"),
        ({"database_url": "mysql://x/y"}, "YUNFAB_NODE_DATABASE_URL", "unsupported database"),
        ({"heartbeat_interval_s": 0}, "YUNFAB_NODE_HEARTBEAT_INTERVAL_S", "greater than 0"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(overrides: dict, setting: str, words: str) -> None:
    values = {"name": "zj-textile", "region": "CN-ZJ", "industry": "textile", **overrides}
    with pytest.raises(SettingsError) as raised:
        load_settings(NodeSettings, **values)
    message = str(raised.value)
    assert message.startswith(f"invalid setting {setting}: "), message
    assert words in message
    assert "\n" not in message


def test_production_refuses_to_start_without_its_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingsError, match="YUNFAB_HUB_SIGNING_KEY_PASSPHRASE"):
        load_settings(HubSettings, env="production", public_url="https://hub.example.cn")
    with pytest.raises(SettingsError, match="YUNFAB_HUB_PUBLIC_URL: an https URL"):
        load_settings(
            HubSettings, env="production", signing_key_passphrase="x", public_url="http://h"
        )
    with pytest.raises(SettingsError, match="YUNFAB_NODE_CLIENT_ID"):
        load_settings(NodeSettings, env="production", name="n", region="CN", industry="x")
    with pytest.raises(SettingsError, match="YUNFAB_NODE_HUB_URL: an https URL"):
        load_settings(
            NodeSettings,
            env="production",
            name="n",
            region="CN",
            industry="x",
            client_id="c",
            client_secret="s",
            hub_url="http://hub.example.cn",
        )


def test_a_missing_required_setting_is_named() -> None:
    with pytest.raises(SettingsError, match="YUNFAB_NODE_NAME"):
        load_settings(NodeSettings, region="CN-ZJ", industry="textile")
