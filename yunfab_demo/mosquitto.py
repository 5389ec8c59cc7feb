"""Run a Mosquitto broker that a node manages through the dynamic-security plugin.

Demo tooling: `yunfab demo`, the tests and the benchmarks start Mosquitto as a child process with
a config this module writes (the node chart's configmap keeps the same limits: tests/test_helm.py):
no anonymous access, every client and ACL held by the dynamic-security plugin in a JSON file inside
the node's data directory, and persistence on so QoS 1 sessions of devices and of the node's own
ingest client survive a broker restart. The plugin's file is seeded once with the admin client the
node uses (see `regional_node.broker_admin.BrokerAdmin`).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path

import structlog

from yunfab.processes import ProcessFailed, ProcessSpec, _die_with_parent

log = structlog.get_logger(__name__)

PLUGIN_ENV = "YUNFAB_MOSQUITTO_DYNSEC_PLUGIN"
MOSQUITTO_ENV = "YUNFAB_MOSQUITTO_BIN"
MOSQUITTO_CTRL_ENV = "YUNFAB_MOSQUITTO_CTRL_BIN"
PLUGIN_NAME = "mosquitto_dynamic_security.so"

CONF_NAME = "mosquitto.conf"
DYNSEC_NAME = "dynamic-security.json"
LOG_NAME = "mosquitto.log"
OUTPUT_NAME = "mosquitto.out"
PERSISTENCE_NAME = "mosquitto.db"

# A device that was offline buffers readings and sends them in a burst, and the node's ingest
# client may itself be down for a while (upgrade, restart): the broker must hold that backlog for
# the ingest session instead of dropping it at Mosquitto's default of 1000 queued messages.
MAX_QUEUED_MESSAGES = 100_000
# Mosquitto's default of 20 in-flight QoS 1 messages per MQTT 3.1.1 client throttles the ingest
# client's batched writes; unlimited (0) would instead push a whole backlog into one socket at
# once. MQTT 5 clients state their own limit (Receive Maximum), which Mosquitto honours instead.
MAX_INFLIGHT_MESSAGES = 100
# Persistent sessions of devices that never come back (retired hardware) would otherwise keep
# their queues forever.
PERSISTENT_CLIENT_EXPIRATION = "14d"
# Persistence is written on a clean shutdown; the periodic save bounds what a crash can lose.
AUTOSAVE_INTERVAL_S = 60
# The largest MQTT packet a client may send (the node's `mqtt_max_message_bytes` by default).
# Mosquitto reads a packet's length first and disconnects a client announcing more, before it
# buffers the payload; `message_size_limit`, which it replaces, read the whole message first.
MAX_PACKET_BYTES = 1024 * 1024


class MosquittoError(ProcessFailed):
    """Mosquitto or its dynamic-security plugin is missing, misconfigured or did not start."""


@dataclass(frozen=True)
class ManagedBrokerConfig:
    """Where the managed broker listens, where it keeps its state, and its dynsec admin client."""

    host: str
    port: int
    data_dir: Path
    admin_username: str
    admin_password: str
    max_packet_bytes: int = MAX_PACKET_BYTES

    @property
    def conf_path(self) -> Path:
        return self.data_dir / CONF_NAME

    @property
    def dynsec_path(self) -> Path:
        return self.data_dir / DYNSEC_NAME

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_NAME

    @property
    def output_path(self) -> Path:
        """Mosquitto's stdout/stderr: config errors are reported there before logging starts."""
        return self.data_dir / OUTPUT_NAME


def _plugin_dirs() -> list[Path]:
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    candidates = [
        *([f"/usr/lib/{multiarch}", f"/usr/local/lib/{multiarch}"] if multiarch else []),
        "/usr/lib",
        "/usr/lib64",
        "/usr/local/lib",
        "/usr/lib/mosquitto",
        "/usr/local/lib/mosquitto",
        "/opt/homebrew/lib",
        "/opt/homebrew/opt/mosquitto/lib",
        "/usr/local/opt/mosquitto/lib",
    ]
    return [Path(directory) for directory in candidates]


def find_dynsec_plugin() -> Path:
    """The dynamic-security plugin: `$YUNFAB_MOSQUITTO_DYNSEC_PLUGIN`, else standard lib dirs.

    Distributions install it in different places (Debian's multiarch dir, /usr/lib64, Homebrew),
    and Mosquitto only reports a wrong path once it is already starting.
    """
    configured = os.environ.get(PLUGIN_ENV)
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise MosquittoError(f"{PLUGIN_ENV}={configured} is not a file")
        return path
    searched = _plugin_dirs()
    for directory in searched:
        path = directory / PLUGIN_NAME
        if path.is_file():
            return path
    raise MosquittoError(
        f"Mosquitto's dynamic-security plugin ({PLUGIN_NAME}) was not found in "
        f"{', '.join(str(d) for d in searched)}; install Mosquitto >= 2.0 or set {PLUGIN_ENV}"
    )


def _find_program(name: str, env_var: str, extra_dirs: list[str]) -> Path:
    configured = os.environ.get(env_var)
    if configured:
        path = Path(configured)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise MosquittoError(f"{env_var}={configured} is not an executable file")
        return path
    # mosquitto lives in /usr/sbin on Debian, which is not on an unprivileged user's PATH.
    found = shutil.which(name) or shutil.which(name, path=os.pathsep.join(extra_dirs))
    if found is None:
        raise MosquittoError(
            f"{name} was not found on PATH or in {', '.join(extra_dirs)}; "
            f"install Mosquitto >= 2.0 or set {env_var}"
        )
    return Path(found)


def find_mosquitto() -> Path:
    return _find_program(
        "mosquitto", MOSQUITTO_ENV, ["/usr/sbin", "/usr/local/sbin", "/opt/homebrew/sbin"]
    )


def find_mosquitto_ctrl() -> Path:
    return _find_program(
        "mosquitto_ctrl", MOSQUITTO_CTRL_ENV, ["/usr/bin", "/usr/local/bin", "/opt/homebrew/bin"]
    )


def _check_config_value(name: str, value: str) -> None:
    # A newline would let a value add its own directives to mosquitto.conf.
    if not value or any(char in value for char in "\r\n\0"):
        raise ValueError(f"invalid {name} for the Mosquitto config: {value!r}")


def init_dynsec(cfg: ManagedBrokerConfig) -> bool:
    """Seed the plugin's file with the node's admin client, once; returns whether it did.

    After the first start the broker owns the file (every dynsec command rewrites it), so an
    existing file is never touched: it holds all provisioned devices.
    """
    if cfg.dynsec_path.exists():
        return False
    ctrl = find_mosquitto_ctrl()
    # The password is an argument, so mosquitto_ctrl does not prompt for it; stdin is closed in
    # case a future version prompts anyway.
    result = subprocess.run(
        [
            str(ctrl),
            "dynsec",
            "init",
            str(cfg.dynsec_path),
            cfg.admin_username,
            cfg.admin_password,
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    # mosquitto_ctrl exits 0 even on some failures, so the file itself is the proof.
    if result.returncode != 0 or not cfg.dynsec_path.is_file():
        raise MosquittoError(
            f"mosquitto_ctrl dynsec init failed (exit {result.returncode}): "
            f"{(result.stderr or result.stdout).strip()}"
        )
    # It holds password hashes; only the broker (running as this user) needs to read it.
    cfg.dynsec_path.chmod(0o600)
    log.info("broker.dynsec_initialised", path=str(cfg.dynsec_path), admin=cfg.admin_username)
    return True


def render_config(cfg: ManagedBrokerConfig, plugin: Path) -> str:
    """The text of mosquitto.conf for `cfg` (pure, so it can be checked without Mosquitto)."""
    data_dir = cfg.data_dir.resolve()
    if cfg.max_packet_bytes < 1024:
        raise ValueError(f"max_packet_bytes: at least 1024, not {cfg.max_packet_bytes}")
    for name, value in (
        ("host", cfg.host),
        ("data_dir", str(data_dir)),
        ("plugin", str(plugin)),
    ):
        _check_config_value(name, value)
    user = pwd.getpwuid(os.geteuid()).pw_name
    lines = [
        "# Written by Yunfab (yunfab_demo.mosquitto); changes are overwritten.",
        # One set of security settings (the dynsec plugin) for every listener.
        "per_listener_settings false",
        f"listener {cfg.port} {cfg.host}",
        "allow_anonymous false",
        f"plugin {plugin}",
        f"plugin_opt_config_file {data_dir / DYNSEC_NAME}",
        # Mosquitto started as root switches to this user; naming the node's own user keeps the
        # data dir (dynsec file, persistence, log) writable by the broker.
        f"user {user}",
        "persistence true",
        f"persistence_location {data_dir}/",
        f"persistence_file {PERSISTENCE_NAME}",
        f"autosave_interval {AUTOSAVE_INTERVAL_S}",
        f"persistent_client_expiration {PERSISTENT_CLIENT_EXPIRATION}",
        f"max_queued_messages {MAX_QUEUED_MESSAGES}",
        f"max_inflight_messages {MAX_INFLIGHT_MESSAGES}",
        f"max_packet_size {cfg.max_packet_bytes}",
        f"log_dest file {data_dir / LOG_NAME}",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "log_type information",
        "connection_messages true",
        "log_timestamp true",
        "log_timestamp_format %Y-%m-%dT%H:%M:%S",
        "",
    ]
    return "\n".join(lines)


def write_config(cfg: ManagedBrokerConfig) -> Path:
    """Write `mosquitto.conf` into the data dir (and seed the dynsec file); returns its path."""
    plugin = find_dynsec_plugin()
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    init_dynsec(cfg)
    cfg.conf_path.write_text(render_config(cfg, plugin))
    return cfg.conf_path


def mosquitto_argv(conf_path: Path) -> list[str]:
    return [str(find_mosquitto()), "-c", str(conf_path)]


def process_spec(cfg: ManagedBrokerConfig, name: str = "mosquitto") -> ProcessSpec:
    """A `ProcessSpec` for `yunfab.processes.Supervisor` (writes the config first).

    Pair it with `wait_ready(check=lambda: port_open(cfg.host, cfg.port))`.
    """
    conf = write_config(cfg)
    return ProcessSpec(name=name, argv=mosquitto_argv(conf), log_path=cfg.output_path)


def port_open(host: str, port: int, timeout_s: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def log_tail(cfg: ManagedBrokerConfig, lines: int = 20) -> str:
    """The end of the broker's output and of its log, for error messages."""
    parts = [_tail(cfg.output_path, lines), _tail(cfg.log_path, lines)]
    return "\n".join(part for part in parts if part)


def start_broker(cfg: ManagedBrokerConfig, timeout_s: float = 10.0) -> subprocess.Popen[bytes]:
    """Start Mosquitto for `cfg` and return once its listener accepts connections.

    The child gets its own session (a Ctrl-C aimed at the caller does not kill the broker
    mid-write) and SIGTERM when its parent dies, so no broker outlives the node or a test run.
    Stop it with `stop_broker`: SIGTERM makes Mosquitto save its persistence file. Linux sends
    that SIGTERM when the *thread* that started the broker ends, so call this from a long-lived
    thread (the main one), not from a short-lived worker.
    """
    conf = write_config(cfg)
    argv = mosquitto_argv(conf)
    # Readiness is "the port accepts connections": another process already there would pass.
    if port_open(cfg.host, cfg.port):
        raise MosquittoError(f"{cfg.host}:{cfg.port} is already in use by another process")
    with cfg.output_path.open("ab") as output:
        popen = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
    deadline = time.monotonic() + timeout_s
    while True:
        code = popen.poll()
        if code is not None:
            raise MosquittoError(f"mosquitto exited with code {code}:\n{log_tail(cfg)}")
        if port_open(cfg.host, cfg.port):
            log.info("broker.started", host=cfg.host, port=cfg.port, pid=popen.pid)
            return popen
        if time.monotonic() > deadline:
            popen.terminate()
            try:
                popen.wait(5)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait()
            raise MosquittoError(
                f"mosquitto not listening on {cfg.host}:{cfg.port} after {timeout_s:.0f}s:\n"
                f"{log_tail(cfg)}"
            )
        time.sleep(0.05)


def stop_broker(popen: subprocess.Popen[bytes], grace_s: float = 10.0) -> int:
    """SIGTERM (Mosquitto then writes its persistence file), SIGKILL after `grace_s`."""
    if popen.poll() is None:
        popen.terminate()
        try:
            popen.wait(grace_s)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()
    return popen.returncode
