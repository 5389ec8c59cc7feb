"""The edge gateway's parts that need no peer: its configuration file (errors that name the key,
profiles), register decoding, value checks, the journal's bounds and durability, and the
commands' exit codes."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from yunfab.sparkplug import DataType
from yunfab_cli.main import app
from yunfab_gateway.config import (
    ConfigError,
    RegisterType,
    ValueKind,
    available_profiles,
    load_config,
    parse_config,
    parse_profile,
)
from yunfab_gateway.journal import Journal
from yunfab_gateway.mapping import DEVICE_STATUS_METRIC, Point, build_mapping
from yunfab_gateway.modbus import decode_registers, encode_registers, plan_blocks

GOOD = """
[gateway]
group = "dg-mould"
edge_node = "dg-mould-gw-01"

[mqtt]
url = "mqtt://127.0.0.1:1883"
password = "secret"

[[opcua]]
name = "imm-01"
device = "dg-mould-imm-01"
url = "opc.tcp://10.0.0.5:4840"
root = "e77:IMM_01"
profile = "euromap77"

[[opcua.points]]
metric = "mould_temp_c"
node = "ns=2;s=Mould.Temp"
unit = "degC"
min = 10
max = 90

[[modbus]]
name = "meter-01"
device = "dg-mould-meter-01"
host = "10.0.0.9"
profile = "modbus_energy_meter"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(text)
    return path


def test_a_full_config_loads_with_its_profiles_expanded(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    imm = config.opcua[0]
    metrics = [p.metric for p in imm.points]
    assert metrics[-1] == "mould_temp_c"  # the file's own point replaces the profile's
    assert metrics.count("mould_temp_c") == 1
    assert {"machine_mode", "shots", "melt_temp_c", "clamp_force_kn", "mould_id"} <= set(metrics)
    assert imm.namespaces["e77"] == "http://www.euromap.org/euromap77/"
    mould = next(p for p in imm.points if p.metric == "mould_temp_c")
    assert (mould.node, mould.min, mould.max) == ("ns=2;s=Mould.Temp", 10, 90)
    meter = config.modbus[0]
    assert [g.name for g in meter.groups] == ["instant", "totals"]
    assert config.journal.path == tmp_path / "var" / "gateway" / "journal.db"
    assert config.client_id == config.username == "dg-mould-gw-01"
    assert set(available_profiles()) >= {"euromap77", "modbus_energy_meter"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("[mqtt]\n", "[mqtt]\nhost = 'x'\n"), "mqtt.host: unknown key"),
        (('edge_node = "dg-mould-gw-01"\n', ""), "gateway.edge_node: required"),
        (('profile = "euromap77"', 'profile = "euromap99"'), "opcua[0].profile: unknown profile"),
        (
            ('profile = "modbus_energy_meter"', 'profile = "euromap77"'),
            "modbus[0].profile: 'euromap77' is a opcua profile",
        ),
        (('node = "ns=2;s=Mould.Temp"', 'node = "ns=2"\npath = "x"'), "opcua[0].points[8]: give"),
        (("min = 10", "min = 100"), "opcua[0].points[8]: min must be below max"),
        (('url = "opc.tcp://10.0.0.5:4840"', 'url = "http://x"'), "opcua[0].url: String should"),
        (
            ("[[modbus]]", '[[opcua.points]]\nmetric = "mould_temp_c"\nnode = "i=1"\n[[modbus]]'),
            "device 'dg-mould-imm-01' metric 'mould_temp_c' is mapped twice",
        ),
        (('host = "10.0.0.9"', 'transport = "rtu"'), "modbus[0]: an rtu connector needs"),
        (('group = "dg-mould"', 'group = "Dg Mould"'), "gateway.group: String should match"),
    ],
)
def test_a_bad_config_names_the_key(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: ")
    assert message in text, text
    assert "\n" not in text


MARKET_PROFILE = """
kind = "opcua"
device_type = "blow_moulding"

[namespaces]
bm = "urn:example:blow-moulding"

[[points]]
metric = "preform_temp_c"
path = "bm:Oven/bm:PreformTemperature"
unit = "degC"
min = 0
max = 200
"""


def test_a_market_profile_in_the_data_folder_is_named_like_a_built_in_one(tmp_path: Path) -> None:
    text = GOOD.replace('profile = "euromap77"', 'profile = "blow-moulder"')
    with pytest.raises(ConfigError, match="opcua\\[0\\].profile: unknown profile 'blow-moulder'"):
        load_config(write(tmp_path, text))
    folder = tmp_path / "var" / "gateway" / "profiles"
    folder.mkdir(parents=True)
    (folder / "blow-moulder.toml").write_text(MARKET_PROFILE)
    config = load_config(write(tmp_path, text))
    assert config.opcua[0].device_type == "blow_moulding"
    assert [p.metric for p in config.opcua[0].points] == ["preform_temp_c", "mould_temp_c"]
    assert config.opcua[0].namespaces["bm"] == "urn:example:blow-moulding"


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("euromap77", MARKET_PROFILE, "'euromap77' is a built-in profile's"),
        ("Bad Name", MARKET_PROFILE, "profile name 'Bad Name'"),
        ("p", "kind = 'bacnet'", "kind: opcua or modbus"),
        ("p", MARKET_PROFILE.replace("min = 0", "min = 300"), "points[0]"),
        ("p", MARKET_PROFILE + "\nextra = 1\n", "extra: unknown key"),
        ("p", 'kind = "modbus"', "a profile maps at least one point"),
        ("p", "kind = [", "not valid TOML"),
    ],
)
def test_a_bad_profile_document_names_what_is_wrong(name: str, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_profile(name, text)


def test_toml_syntax_and_missing_files_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match=r"not valid TOML: .*line 2"):
        load_config(write(tmp_path, "[gateway]\ngroup = \n"))


def yunfab(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "YUNFAB_DEBUG": ""}
    return subprocess.run(
        [sys.executable, "-m", "yunfab_cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


def test_commands_exit_2_on_a_bad_config_without_a_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('url = "mqtt://127.0.0.1:1883"', 'url = "tcp://x"'))
    expected = f"yunfab: {path}: mqtt.url: String should match"
    # As a process (what a service manager sees)...
    result = yunfab("gateway", "run", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2, result
    assert result.stderr.strip().splitlines()[0].startswith(expected)
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    # ...and every command the same way.
    for command in ("run", "check", "devices"):
        invoked = CliRunner().invoke(app, ["gateway", command, "--config", str(path)])
        assert invoked.exit_code == 2, invoked.output
        lines = invoked.stderr.strip().splitlines()
        assert len(lines) == 1, invoked.stderr
        assert lines[0].startswith(expected)


def test_devices_prints_what_the_node_must_provision(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["gateway", "devices", "--config", str(write(tmp_path, GOOD))])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["edge_node"]["key"] == "dg-mould-gw-01"
    assert document["edge_node"]["kind"] == "EDGE_NODE"
    devices = {d["key"]: d for d in document["devices"]}
    imm = {m["name"]: m for m in devices["dg-mould-imm-01"]["metrics"]}
    assert imm["mould_temp_c"] == {"name": "mould_temp_c", "unit": "degC", "minValue": 10,
                                   "maxValue": 90}  # fmt: skip
    assert "mould_id" not in imm  # a text: read and shown, not a reading
    assert DEVICE_STATUS_METRIC in imm
    assert devices["dg-mould-meter-01"]["edgeNodeKey"] == "dg-mould-gw-01"


def test_aliases_are_unique_across_the_edge_node_and_stable(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    first, second = build_mapping(config), build_mapping(config)
    aliases = [
        m.alias for d in [*first.declarations(), first.edge] if d is not None for m in d.metrics
    ]
    assert len(aliases) == len(set(aliases))
    assert [m.alias for d in second.declarations() for m in d.metrics] == [
        m.alias for d in first.declarations() for m in d.metrics
    ]


def point(kind: ValueKind = ValueKind.NUMBER, **kw: Any) -> Point:
    values: dict[str, Any] = {"min": 0.0, "max": 100.0, **kw}
    return Point("c", "dev", "m", "degC", kind, **values)


def test_values_are_checked_before_they_are_readings() -> None:
    assert point().convert(42) == (42.0, None)
    assert point(scale=0.1, offset=-5).convert(600) == (55.0, None)
    value, problem = point().convert(math.nan)
    assert value is None
    assert problem == "nan is not a number"
    assert point().convert(math.inf)[1] == "inf is not a number"
    assert point().convert(101)[1] == "101 degC outside [0, 100]"
    assert point(min=None).convert(-1e9) == (-1e9, None)
    assert point().convert("12")[1] == "str value '12' is not a number"
    assert point().convert(True)[1] == "bool value True is not a number"
    assert point(ValueKind.BOOL).convert(1) == (True, None)
    assert point(ValueKind.INTEGER, max=None).convert(2**40) == (2**40, None)
    assert point(ValueKind.INTEGER).datatype is DataType.Int64
    assert point(ValueKind.INTEGER, scale=0.5).datatype is DataType.Double
    assert point(ValueKind.STRING).convert("M-1") == ("M-1", None)
    assert not point(ValueKind.STRING).published


@pytest.mark.parametrize(
    ("kind", "value", "byte_order", "word_order", "registers"),
    [
        (RegisterType.INT16, -125, "big", "big", [0xFF83]),
        (RegisterType.UINT16, 65535, "big", "big", [0xFFFF]),
        (RegisterType.INT32, -2, "big", "big", [0xFFFF, 0xFFFE]),
        (RegisterType.UINT32, 0x12345678, "big", "big", [0x1234, 0x5678]),
        (RegisterType.UINT32, 0x12345678, "big", "little", [0x5678, 0x1234]),
        (RegisterType.UINT32, 0x12345678, "little", "big", [0x3412, 0x7856]),
        (RegisterType.UINT32, 0x12345678, "little", "little", [0x7856, 0x3412]),
        (RegisterType.FLOAT32, 230.1, "big", "big", [0x4366, 0x199A]),
        (RegisterType.FLOAT32, 230.1, "big", "little", [0x199A, 0x4366]),
        (RegisterType.FLOAT64, 12.25, "big", "big", [0x4028, 0x8000, 0x0000, 0x0000]),
    ],
)
def test_registers_decode_by_type_and_byte_and_word_order(
    kind: RegisterType, value: float, byte_order: Any, word_order: Any, registers: list[int]
) -> None:
    assert encode_registers(value, kind, byte_order, word_order) == registers
    assert decode_registers(registers, kind, byte_order, word_order) == value


def test_points_are_read_in_few_blocks() -> None:
    raw = {
        "gateway": {"group": "g", "edge_node": "gw"},
        "mqtt": {"url": "mqtt://127.0.0.1"},
        "modbus": [
            {
                "name": "m",
                "device": "d",
                "host": "h",
                "max_block": 10,
                "groups": [
                    {
                        "points": [
                            {"metric": "a", "address": 0, "type": "float32"},
                            {"metric": "b", "address": 4, "type": "uint16"},
                            {"metric": "c", "address": 8, "type": "float64"},
                            {"metric": "d", "address": 2, "table": "input"},
                            {"metric": "e", "address": 3, "table": "coil"},
                            {"metric": "f", "address": 100, "table": "coil"},
                        ]
                    }
                ],
            }
        ],
    }
    config = parse_config(raw)
    from yunfab_gateway.checks import QuietSink
    from yunfab_gateway.modbus import ModbusSource

    source = ModbusSource(config.modbus[0], build_mapping(config).points, QuietSink())
    blocks = source.groups[0][1]
    assert [(b.table.value, b.start, b.count) for b in blocks] == [
        ("coil", 3, 98),
        ("holding", 0, 5),
        ("holding", 8, 4),
        ("input", 2, 1),
    ]
    assert plan_blocks([], 10) == []


def test_the_journal_is_bounded_and_keeps_what_it_took(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    journal = Journal(path, max_rows=100, max_bytes=1 << 20)
    journal.append([("dev", "m", i, float(i)) for i in range(150)])
    stats = journal.stats()
    assert (stats.rows, stats.dropped) == (100, 50)
    oldest = journal.oldest(3)
    assert [e.ts_ms for e in oldest] == [50, 51, 52]  # the oldest went
    journal.delete([e.id for e in oldest])
    assert journal.next_bd_seq() == 0
    journal.close()
    # Reopened (a restart, or a process that was killed): the rows and counters are there.
    again = Journal(path, max_rows=100, max_bytes=1 << 20)
    assert again.stats().rows == 97
    assert again.stats().dropped == 50
    assert [e.ts_ms for e in again.oldest(2)] == [53, 54]
    assert again.next_bd_seq() == 1  # never the bdSeq of the previous process's will
    again.append([("dev", "flag", 1, True), ("dev", "count", 2, 2**60)])
    tail = again.oldest(2, after_id=again.oldest(97)[-1].id)
    assert [e.value for e in tail] == [1, 2**60]
    again.close()


def test_the_journal_byte_bound_drops_the_oldest(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.db", max_rows=10_000, max_bytes=1 << 16)
    for start in range(0, 5000, 500):
        journal.append(
            [("device-with-a-long-key", "metric", t, 1.0) for t in range(start, start + 500)]
        )
    stats = journal.stats()
    assert stats.bytes <= 1 << 16
    assert stats.rows + stats.dropped == 5000
    assert journal.oldest(1)[0].ts_ms == stats.dropped
    journal.close()


def test_the_documented_configuration_is_valid() -> None:
    """docs/gateway.md's full example is what an operator copies: it must load as shown."""
    import re
    import tomllib

    text = (Path(__file__).parent.parent / "docs" / "gateway.md").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", text, re.S)
    assert blocks
    config = parse_config(tomllib.loads(blocks[0]))
    assert config.opcua[0].security.value == "Basic256Sha256"
    assert config.modbus[0].transport.value == "rtu"
    mould = next(p for p in config.opcua[0].points if p.metric == "mould_temp_c")
    assert mould.node == "ns=4;s=Mould.Zone1.ActualTemperature"
