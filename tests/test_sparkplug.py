"""Sparkplug B: the codec against hand-built wire bytes, topics, and the host state machine fed
by the edge-node publisher, all without a broker."""

from __future__ import annotations

import json

import pytest

from yunfab.sparkplug import (
    DataType,
    DeviceOffline,
    DeviceOnline,
    EdgeNodeSession,
    EdgeOffline,
    EdgeOnline,
    Event,
    MessageType,
    Metric,
    MetricValue,
    Payload,
    Reading,
    Readings,
    RebirthNeeded,
    SequenceGap,
    SparkplugError,
    SparkplugHost,
    Topic,
    decode,
    encode,
    parse_topic,
    rebirth_command,
    state_payload,
    state_topic,
    topic_for,
)

T0 = 1_795_000_000_000


# A few lines of protobuf wire format, so that tests can state exact bytes (what another
# implementation would send) independently of the module under test.
def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _uint(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _len(number: int, data: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _wire_metric(*fields: bytes) -> bytes:
    return _len(2, b"".join(fields))


# --- codec -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("datatype", "value"),
    [
        (DataType.Int8, -128),
        (DataType.Int8, 127),
        (DataType.Int16, -32768),
        (DataType.Int16, -23),
        (DataType.Int32, -(2**31)),
        (DataType.Int32, 2**31 - 1),
        (DataType.Int64, -(2**63)),
        (DataType.Int64, -1),
        (DataType.Int64, 2**63 - 1),
        (DataType.UInt8, 255),
        (DataType.UInt16, 65535),
        (DataType.UInt32, 2**32 - 1),
        (DataType.UInt64, 2**64 - 1),
        (DataType.Float, 61.2),
        (DataType.Float, -0.5),
        (DataType.Double, 0.1),
        (DataType.Double, -1e300),
        (DataType.Boolean, True),
        (DataType.Boolean, False),
        (DataType.String, "Formwerkzeug 3 – Düse"),
        (DataType.String, ""),
        (DataType.DateTime, T0),
        (DataType.Text, "long text\nwith lines"),
        (DataType.UUID, "6f1c4b5e-8a2d-4f53-9a7e-2b4c1d0e9f11"),
        (DataType.Bytes, b"\x00\xff\x10"),
        (DataType.File, b"%PDF-1.7"),
        (DataType.Int32Array, b"\x15\xcd\x5b\x07\xb1\x68\xde\x3a"),
        (DataType.Double, None),
    ],
)
def test_every_datatype_round_trips(datatype: DataType, value: MetricValue) -> None:
    metric = Metric(
        name="m",
        alias=7,
        timestamp_ms=T0 + 5,
        datatype=datatype,
        value=value,
        is_historical=True,
    )
    payload = Payload(timestamp_ms=T0, seq=42, metrics=(metric,))

    decoded = decode(encode(payload))

    assert decoded == payload
    assert type(decoded.metrics[0].value) is type(value)


def test_signed_ints_go_on_the_wire_as_twos_complement_at_their_width() -> None:
    def wire(datatype: DataType, field: int, raw: int) -> bytes:
        return _wire_metric(_len(1, b"x"), _uint(4, datatype), _uint(field, raw))

    for datatype, field, raw in [
        (DataType.Int8, 10, 233),
        (DataType.Int16, 10, 65513),
        (DataType.Int32, 10, 2**32 - 23),
        (DataType.Int64, 11, 2**64 - 23),
    ]:
        payload = Payload(None, None, (Metric(name="x", datatype=datatype, value=-23),))
        assert encode(payload) == wire(datatype, field, raw), datatype


def test_decoding_accepts_sign_extended_ints_and_uint32_in_long_value() -> None:
    # Java gateways sign-extend small ints; older Tahu put UInt32 in long_value.
    data = b"".join(
        [
            _wire_metric(_len(1, b"a"), _uint(4, DataType.Int8), _uint(10, 2**32 - 23)),
            _wire_metric(_len(1, b"b"), _uint(4, DataType.Int16), _uint(11, 2**64 - 2)),
            _wire_metric(_len(1, b"c"), _uint(4, DataType.UInt32), _uint(11, 2**32 - 1)),
        ]
    )

    values = [metric.value for metric in decode(data).metrics]

    assert values == [-23, -2, 2**32 - 1]


def test_unknown_fields_from_real_gateways_are_ignored() -> None:
    metadata = _len(8, _uint(3, 1) + _len(4, b"image/png"))
    properties = _len(9, _len(1, b"engUnit") + _len(2, _uint(4, 12) + _len(15, b"kN")))
    dataset = _len(17, _uint(1, 2) + _len(2, b"col"))
    data = (
        _uint(1, T0)
        + _wire_metric(
            _len(1, b"clamp_force_kn"),
            _uint(4, DataType.Float),
            metadata,
            properties,
            _varint(12 << 3 | 5) + bytes.fromhex("cdcc4442"),  # float 49.2
        )
        + _wire_metric(_len(1, b"table"), _uint(4, DataType.DataSet), dataset)
        + _uint(3, 9)
        + _len(4, b"a-uuid")
        + _uint(6, 1)  # an extension field the schema reserves
    )

    payload = decode(data)

    assert payload == Payload(
        timestamp_ms=T0,
        seq=9,
        metrics=(
            Metric(name="clamp_force_kn", datatype=DataType.Float, value=49.2),
            Metric(name="table", datatype=DataType.DataSet, value=None),
        ),
    )


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xff\xff\xff", "not a Sparkplug B protobuf payload"),
        (b'{"online": true, "timestamp": 1}', "not a Sparkplug B protobuf payload"),
        (_uint(3, 256), "seq 256 is outside 0..255"),
        (_wire_metric(_len(1, b"\xff\xfe")), "not valid UTF-8"),
        (_wire_metric(_uint(4, DataType.Int32)), "neither name nor alias"),
        (_wire_metric(_len(1, b"x"), _uint(4, 99)), "unknown datatype 99"),
        (_wire_metric(_len(1, b"x"), _uint(4, DataType.Double), _len(15, b"1.5")), "carries str"),
        (_wire_metric(_len(1, b"x"), _uint(4, DataType.Int8), _uint(10, 300)), "does not fit"),
        (_wire_metric(_len(1, b"x"), _uint(4, DataType.UInt8), _uint(10, 256)), "does not fit"),
    ],
)
def test_decoding_rejects_what_is_not_a_payload_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(SparkplugError) as refused:
        decode(data)

    assert reason in refused.value.reason
    assert isinstance(refused.value, ValueError)


@pytest.mark.parametrize(
    ("metric", "reason"),
    [
        (Metric(name="x", datatype=DataType.Int8, value=128), "does not fit Int8"),
        (Metric(name="x", datatype=DataType.UInt8, value=-1), "does not fit UInt8"),
        (Metric(name="x", datatype=DataType.UInt64, value=2**64), "does not fit UInt64"),
        (Metric(name="x", datatype=DataType.Int32, value=True), "not an int"),
        (Metric(name="x", datatype=DataType.Boolean, value=1), "not a bool"),
        (Metric(name="x", datatype=DataType.String, value=b"x"), "not a str"),
        (Metric(name="x", value=1.5), "no datatype"),
        (Metric(datatype=DataType.Double, value=1.5), "name or an alias"),
        (Metric(name="x", datatype=DataType.Template, value=b"t"), "not supported"),
    ],
)
def test_encoding_refuses_values_the_datatype_cannot_carry(metric: Metric, reason: str) -> None:
    with pytest.raises(SparkplugError, match=reason):
        encode(Payload(T0, 0, (metric,)))


def test_encoding_refuses_a_seq_outside_a_byte() -> None:
    with pytest.raises(SparkplugError, match="outside 0..255"):
        encode(Payload(T0, 256, ()))


# --- topics ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("spBv1.0/gd-mould/NBIRTH/gw-1", Topic("gd-mould", MessageType.NBIRTH, "gw-1")),
        ("spBv1.0/gd-mould/NDATA/gw-1", Topic("gd-mould", MessageType.NDATA, "gw-1")),
        ("spBv1.0/gd-mould/NCMD/gw-1", Topic("gd-mould", MessageType.NCMD, "gw-1")),
        (
            "spBv1.0/gd-mould/DDATA/gw-1/imm-03",
            Topic("gd-mould", MessageType.DDATA, "gw-1", "imm-03"),
        ),
        (
            "spBv1.0/gd-mould/DDEATH/gw-1/imm-03",
            Topic("gd-mould", MessageType.DDEATH, "gw-1", "imm-03"),
        ),
        ("spBv1.0/STATE/yunfab-node", Topic("", MessageType.STATE, "", host_id="yunfab-node")),
    ],
)
def test_valid_topics_parse_and_format_back(text: str, topic: Topic) -> None:
    assert parse_topic(text) == topic
    assert str(topic) == text


@pytest.mark.parametrize(
    "text",
    [
        "spBv2.0/g/NDATA/e",
        "yunfab/v1/telemetry/imm-03",
        "STATE/host",  # Sparkplug 2.x host state, without namespace
        "spBv1.0/g",
        "spBv1.0/g/NDATA",
        "spBv1.0/g/NDATA/e/d",  # node messages have no device
        "spBv1.0/g/NBIRTH/e/d",
        "spBv1.0/g/DDATA/e",  # device messages need one
        "spBv1.0/g/DBIRTH/e/d/extra",
        "spBv1.0/g/NDOOM/e",
        "spBv1.0/g/ndata/e",
        "spBv1.0//NDATA/e",
        "spBv1.0/g/NDATA/",
        "spBv1.0/g/DDATA/e/",
        "spBv1.0/g/STATE/e",
        "spBv1.0/STATE",
        "spBv1.0/STATE/",
        "spBv1.0/STATE/host/extra",
        "spBv1.0/g/NDATA/+",
    ],
)
def test_invalid_topics_are_refused(text: str) -> None:
    with pytest.raises(SparkplugError):
        parse_topic(text)


def test_topic_for_builds_only_valid_topics() -> None:
    assert topic_for("g", MessageType.DBIRTH, "e", "d") == "spBv1.0/g/DBIRTH/e/d"
    assert state_topic("yunfab-node") == "spBv1.0/STATE/yunfab-node"
    with pytest.raises(SparkplugError, match="device id"):
        topic_for("g", MessageType.DDATA, "e")
    with pytest.raises(SparkplugError, match="no device id"):
        topic_for("g", MessageType.NDATA, "e", "d")
    with pytest.raises(SparkplugError, match="group id"):
        topic_for("g/h", MessageType.NDATA, "e")
    with pytest.raises(SparkplugError, match="host"):
        topic_for("g", MessageType.STATE, "e")


# --- host ------------------------------------------------------------------------------------


def _feed(host: SparkplugHost, message: tuple[str, bytes], received_ms: int = T0) -> list[Event]:
    topic, data = message
    return host.handle(topic, data, received_ms)


def _online_edge(bd_seq: int = 0) -> tuple[SparkplugHost, EdgeNodeSession]:
    host = SparkplugHost()
    edge = EdgeNodeSession("gd-mould", "gw-1", bd_seq=bd_seq)
    node_metrics = [Metric(name="cpu_temp_c", alias=1, datatype=DataType.Float, value=41.5)]
    assert _feed(host, edge.nbirth(node_metrics, T0))[0] == EdgeOnline("gd-mould", "gw-1", bd_seq)
    return host, edge


IMM_BIRTH = [
    Metric(name="clamp_force_kn", alias=10, datatype=DataType.Double, value=812.5),
    Metric(name="cycle_count", alias=11, datatype=DataType.Int32, value=-3),
    Metric(name="door_open", alias=12, datatype=DataType.Boolean),  # declared, no value yet
    Metric(name="recipe_blob", alias=13, datatype=DataType.Bytes, value=b"\x01"),
]


def test_a_full_session_yields_the_lifecycle_and_readings() -> None:
    host = SparkplugHost()
    edge = EdgeNodeSession("gd-mould", "gw-1", bd_seq=4)
    will = edge.ndeath(T0)

    events = _feed(
        host,
        edge.nbirth([Metric(name="cpu_temp_c", alias=1, datatype=DataType.Float, value=41.5)], T0),
        received_ms=T0 + 1,
    )
    assert events == [
        EdgeOnline("gd-mould", "gw-1", 4),
        # bdSeq and Node Control/Rebirth are in the NBIRTH, but they are not telemetry.
        Readings("gd-mould", "gw-1", None, (Reading("cpu_temp_c", T0, 41.5),)),
    ]

    events = _feed(host, edge.dbirth("imm-03", IMM_BIRTH, T0 + 100))
    assert events == [
        DeviceOnline("gd-mould", "gw-1", "imm-03"),
        Readings(
            "gd-mould",
            "gw-1",
            "imm-03",
            (Reading("clamp_force_kn", T0 + 100, 812.5), Reading("cycle_count", T0 + 100, -3)),
        ),
    ]
    assert host.is_online("gd-mould", "gw-1", "imm-03")

    # DATA by alias only, one metric null with its own time.
    alias_only = [
        Metric(alias=10, datatype=DataType.Double, value=813.0),
        Metric(alias=11, timestamp_ms=T0 + 150, datatype=DataType.Int32, value=None),
        Metric(alias=12, datatype=DataType.Boolean, value=True),
    ]
    topic, _ = edge.ddata("imm-03", [], 0)  # uses up a seq: a gap the host must notice
    raw_signed = Metric(alias=11, datatype=DataType.Int32, value=-7)
    events = _feed(host, edge.ddata("imm-03", [*alias_only, raw_signed], T0 + 200))
    assert topic == "spBv1.0/gd-mould/DDATA/gw-1/imm-03"
    assert events == [
        SequenceGap("gd-mould", "gw-1", expected=2, received=3),
        Readings(
            "gd-mould",
            "gw-1",
            "imm-03",
            (
                Reading("clamp_force_kn", T0 + 200, 813.0),
                Reading("cycle_count", T0 + 150, None),
                Reading("door_open", T0 + 200, True),
                Reading("cycle_count", T0 + 200, -7),
            ),
        ),
    ]

    assert _feed(host, edge.ddeath("imm-03", T0 + 300)) == [
        DeviceOffline("gd-mould", "gw-1", "imm-03")
    ]
    assert not host.is_online("gd-mould", "gw-1", "imm-03")
    assert _feed(host, will) == [EdgeOffline("gd-mould", "gw-1")]
    assert not host.is_online("gd-mould", "gw-1")


def test_alias_only_data_is_interpreted_with_the_birth_datatype() -> None:
    host, edge = _online_edge()
    _feed(host, edge.dbirth("imm-03", IMM_BIRTH, T0))
    # Alias 11 (Int32) at -5 with the datatype left out, as gateways may: on its own the raw
    # uint32 reads 4294967291, only the birth certificate says it is signed.
    data = _uint(1, T0 + 1) + _wire_metric(_uint(2, 11), _uint(10, 2**32 - 5)) + _uint(3, 2)
    assert decode(data).metrics[0] == Metric(alias=11, value=2**32 - 5)

    events = host.handle("spBv1.0/gd-mould/DDATA/gw-1/imm-03", data, T0 + 9)

    assert events == [Readings("gd-mould", "gw-1", "imm-03", (Reading("cycle_count", T0 + 1, -5),))]


def test_datatype_less_data_that_contradicts_its_birth_needs_a_rebirth() -> None:
    host, edge = _online_edge()
    _feed(host, edge.dbirth("imm-03", IMM_BIRTH, T0))
    # Alias 10 was born Double; an int_value without datatype means the birth is out of date.
    data = _wire_metric(_uint(2, 10), _uint(10, 7)) + _uint(3, 2)

    events = host.handle("spBv1.0/gd-mould/DDATA/gw-1/imm-03", data, T0)

    assert len(events) == 1
    assert isinstance(events[0], RebirthNeeded)
    assert "clamp_force_kn" in events[0].reason


def test_reading_time_falls_back_from_metric_to_payload_to_arrival() -> None:
    host, edge = _online_edge()
    metrics = [
        Metric(alias=1, timestamp_ms=T0 + 1, datatype=DataType.Float, value=1.0),
        Metric(alias=1, datatype=DataType.Float, value=2.0),
    ]
    with_payload_time = _feed(host, edge.ndata(metrics, T0 + 2), received_ms=T0 + 3)
    topic, data = edge.ndata(metrics[1:], T0)
    payload = decode(data)
    without_payload_time = host.handle(
        topic, encode(Payload(None, payload.seq, payload.metrics)), received_ms=T0 + 4
    )

    assert with_payload_time == [
        Readings(
            "gd-mould",
            "gw-1",
            None,
            (Reading("cpu_temp_c", T0 + 1, 1.0), Reading("cpu_temp_c", T0 + 2, 2.0)),
        )
    ]
    assert without_payload_time == [
        Readings("gd-mould", "gw-1", None, (Reading("cpu_temp_c", T0 + 4, 2.0),))
    ]


def test_seq_wraps_from_255_to_0_without_a_gap_but_a_skipped_seq_is_one() -> None:
    host = SparkplugHost()
    births = (
        Metric(name="bdSeq", datatype=DataType.Int64, value=0),
        Metric(name="level", alias=1, datatype=DataType.Int16, value=0),
    )
    nbirth = encode(Payload(T0, 254, births))

    def ndata(seq: int, value: int) -> list[Event]:
        data = encode(Payload(T0, seq, (Metric(alias=1, datatype=DataType.Int16, value=value),)))
        return host.handle("spBv1.0/g/NDATA/e", data, T0)

    host.handle("spBv1.0/g/NBIRTH/e", nbirth, T0)
    assert ndata(255, 1) == [Readings("g", "e", None, (Reading("level", T0, 1),))]
    assert ndata(0, 2) == [Readings("g", "e", None, (Reading("level", T0, 2),))]
    assert ndata(2, 3) == [
        SequenceGap("g", "e", expected=1, received=2),
        Readings("g", "e", None, (Reading("level", T0, 3),)),
    ]
    assert ndata(3, 4) == [Readings("g", "e", None, (Reading("level", T0, 4),))]


def test_the_edge_session_wraps_seq_so_a_long_run_shows_no_gap() -> None:
    host, edge = _online_edge()
    _feed(host, edge.dbirth("imm-03", IMM_BIRTH, T0))
    seqs = []
    for index in range(600):
        metric = Metric(alias=11, datatype=DataType.Int32, value=index)
        topic, data = edge.ddata("imm-03", [metric], T0)
        seqs.append(decode(data).seq)
        events = host.handle(topic, data, T0)
        assert not any(isinstance(event, SequenceGap) for event in events), index
    assert seqs[253:258] == [255, 0, 1, 2, 3]


def test_a_stale_ndeath_is_ignored_and_the_current_one_ends_the_session() -> None:
    edge = EdgeNodeSession("gd-mould", "gw-1", bd_seq=2)
    old_will = edge.ndeath()
    edge.reconnect()  # the broker had not yet noticed the old connection was gone
    new_will = edge.ndeath()
    host = SparkplugHost()
    _feed(host, edge.nbirth([], T0))
    _feed(host, edge.dbirth("imm-03", IMM_BIRTH, T0))

    assert _feed(host, old_will) == []
    assert host.is_online("gd-mould", "gw-1", "imm-03")
    ddata = edge.ddata("imm-03", [Metric(alias=10, datatype=DataType.Double, value=1.0)], T0)
    assert _feed(host, ddata) == [
        Readings("gd-mould", "gw-1", "imm-03", (Reading("clamp_force_kn", T0, 1.0),))
    ]
    assert _feed(host, new_will) == [
        DeviceOffline("gd-mould", "gw-1", "imm-03"),
        EdgeOffline("gd-mould", "gw-1"),
    ]
    assert _feed(host, new_will) == []


def test_a_new_nbirth_ends_the_devices_of_the_previous_session() -> None:
    host, edge = _online_edge(bd_seq=1)
    _feed(host, edge.dbirth("imm-03", IMM_BIRTH, T0))

    events = _feed(host, edge.nbirth([], T0 + 1))

    assert events == [
        DeviceOffline("gd-mould", "gw-1", "imm-03"),
        EdgeOnline("gd-mould", "gw-1", 1),
    ]
    ddata = edge.ddata("imm-03", [Metric(alias=10, datatype=DataType.Double, value=1.0)], T0)
    assert isinstance(_feed(host, ddata)[0], RebirthNeeded)


def test_ddata_before_dbirth_needs_a_rebirth_and_yields_no_readings() -> None:
    host, edge = _online_edge()

    events = _feed(
        host, edge.ddata("imm-03", [Metric(name="x", datatype=DataType.Double, value=1.0)], T0)
    )

    assert len(events) == 1
    assert isinstance(events[0], RebirthNeeded)
    assert (events[0].group_id, events[0].edge_node_id) == ("gd-mould", "gw-1")
    assert "imm-03" in events[0].reason


def test_data_from_an_edge_node_never_born_needs_a_rebirth() -> None:
    host = SparkplugHost()
    edge = EdgeNodeSession("gd-mould", "gw-1")
    edge.nbirth([], T0)  # published before the host subscribed

    events = _feed(host, edge.ndata([Metric(alias=1, datatype=DataType.Int8, value=1)], T0))

    assert events == [
        RebirthNeeded("gd-mould", "gw-1", "NDATA from an edge node with no NBIRTH seen")
    ]


def test_an_unknown_alias_needs_a_rebirth_and_drops_the_whole_message() -> None:
    host, edge = _online_edge()
    _feed(host, edge.dbirth("imm-03", IMM_BIRTH, T0))
    metrics = [
        Metric(alias=10, datatype=DataType.Double, value=1.0),
        Metric(alias=99, datatype=DataType.Double, value=2.0),
    ]

    events = _feed(host, edge.ddata("imm-03", metrics, T0))

    assert len(events) == 1
    assert isinstance(events[0], RebirthNeeded)
    assert "alias 99" in events[0].reason


def test_malformed_messages_raise_without_touching_the_session() -> None:
    host, edge = _online_edge()
    no_bd_seq = encode(Payload(T0, 0, (Metric(name="a", datatype=DataType.Int8, value=1),)))

    with pytest.raises(SparkplugError, match="no bdSeq"):
        host.handle("spBv1.0/gd-mould/NBIRTH/gw-1", no_bd_seq, T0)
    with pytest.raises(SparkplugError):
        host.handle("spBv1.0/gd-mould/NDATA/gw-1", b"\xff\xff", T0)
    with pytest.raises(SparkplugError):
        host.handle("spBv1.0/gd-mould/NDATA", encode(Payload(T0, 1, ())), T0)
    with pytest.raises(SparkplugError, match="no seq"):
        host.handle("spBv1.0/gd-mould/NDATA/gw-1", encode(Payload(T0, None, ())), T0)

    # The session is intact: the next message in sequence is no gap.
    data = edge.ndata([Metric(alias=1, datatype=DataType.Float, value=3.5)], T0)
    assert _feed(host, data) == [
        Readings("gd-mould", "gw-1", None, (Reading("cpu_temp_c", T0, 3.5),))
    ]


def test_commands_and_host_state_are_not_for_the_host() -> None:
    host, _ = _online_edge()
    topic, data = rebirth_command("gd-mould", "gw-1", T0)

    assert host.handle(topic, data, T0) == []
    assert host.handle("spBv1.0/gd-mould/DCMD/gw-1/imm-03", b"\xff", T0) == []
    assert host.handle("spBv1.0/STATE/other-host", state_payload(True, T0), T0) == []


# --- commands and state ----------------------------------------------------------------------


def test_rebirth_command_is_an_ncmd_with_the_rebirth_metric() -> None:
    topic, data = rebirth_command("gd-mould", "gw-1", T0)

    assert topic == "spBv1.0/gd-mould/NCMD/gw-1"
    assert decode(data) == Payload(
        timestamp_ms=T0,
        seq=None,
        metrics=(Metric(name="Node Control/Rebirth", datatype=DataType.Boolean, value=True),),
    )


def test_state_payload_is_the_sparkplug_3_json() -> None:
    assert json.loads(state_payload(True, T0)) == {"online": True, "timestamp": T0}
    assert json.loads(state_payload(False, T0 + 1)) == {"online": False, "timestamp": T0 + 1}


def test_edge_session_numbers_messages_and_declares_its_session() -> None:
    edge = EdgeNodeSession("gd-mould", "gw-1", bd_seq=255)
    with pytest.raises(SparkplugError, match="NBIRTH before DDATA"):
        edge.ddata("imm-03", [], T0)

    will_topic, will = edge.ndeath(T0)
    birth_topic, birth = edge.nbirth([], T0)
    with pytest.raises(SparkplugError):
        edge.ndata([Metric(name="x", datatype=DataType.Int8, value=999)], T0)
    _, data = edge.ndata([], T0)
    edge.reconnect()

    assert will_topic == "spBv1.0/gd-mould/NDEATH/gw-1"
    assert decode(will) == Payload(
        T0, None, (Metric(name="bdSeq", datatype=DataType.Int64, value=255),)
    )
    assert birth_topic == "spBv1.0/gd-mould/NBIRTH/gw-1"
    assert decode(birth) == Payload(
        T0,
        0,
        (
            Metric(name="bdSeq", datatype=DataType.Int64, value=255),
            Metric(name="Node Control/Rebirth", datatype=DataType.Boolean, value=False),
        ),
    )
    assert decode(data).seq == 1  # the refused message did not use up a seq
    assert edge.bd_seq == 0
