"""Running Flower 1.41 for Yunfab: config files, daemon command lines, runs, keys and certificates.

Flower 1.41 serves the SuperLink's Fleet, Control and Runtime APIs on one HTTP port; each
SuperNode also serves its own Runtime API on a port of its own (`--port`), so nodes on one host
need distinct ports. The `flwr` CLI finds SuperLinks through named connections in
`$FLWR_HOME/config.toml`; daemons keep the apps they unpack in their own `$FLWR_HOME`.

Both daemons run from this environment: the SuperLink with
`--disable-runtime-dependency-installation`, so the ServerApp and ClientApp import
`federated_learning` (and torch) from here instead of installing the app's dependencies per run.

Production mode is TLS (a CA the nodes trust, a server certificate for the SuperLink) plus
SuperNode authentication: the SuperLink only accepts nodes whose public key was registered with
`register_supernode`; any other node is refused when it activates.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from yunfab.processes import ManagedProcess, ProcessFailed, ProcessSpec, Supervisor

ConfigValue = str | int | float | bool
READY_LINE = "Uvicorn running"
"""What the SuperLink and a SuperNode log once their HTTP API listens."""
FINISHED = "finished"
COMPLETED = "finished:completed"


class FlowerCommandFailed(RuntimeError):
    """A `flwr` CLI call failed; the message carries its output."""


def app_dir() -> Path:
    """The Flower app (`pyproject.toml` only) that `flwr run` packages into a FAB."""
    return Path(__file__).resolve().parent / "app"


def flower_bin(name: str) -> str:
    """A Flower executable from this environment (`flwr`, `flower-superlink`, ...)."""
    return str(Path(sys.executable).parent / name)


# --- Connections ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Connection:
    """A named SuperLink connection of the `flwr` CLI; TLS when `root_certificates` is set."""

    name: str
    address: str
    root_certificates: Path | None = None

    @property
    def insecure(self) -> bool:
        return self.root_certificates is None


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a TOML basic string


def write_cli_config(flwr_home: Path, connections: Sequence[Connection]) -> Path:
    """Write `flwr_home/config.toml` with these connections, the first as the default.

    A default of our own keeps a bare `flwr run` away from Flower's `local` (simulation)
    connection.
    """
    if not connections:
        raise ValueError("at least one connection is needed")
    lines = ["[superlink]", f"default = {_toml_string(connections[0].name)}", ""]
    for connection in connections:
        lines += [f"[superlink.{connection.name}]", f"address = {_toml_string(connection.address)}"]
        if connection.root_certificates is None:
            lines.append("insecure = true")
        else:
            lines.append(
                f"root-certificates = {_toml_string(str(connection.root_certificates.resolve()))}"
            )
        lines.append("")
    flwr_home.mkdir(parents=True, exist_ok=True)
    path = flwr_home / "config.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


# --- Daemons ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerTls:
    ca_cert: Path
    server_cert: Path
    server_key: Path


def superlink_argv(
    *,
    port: int,
    host: str = "127.0.0.1",
    tls: ServerTls | None = None,
    supernode_auth: bool = False,
    database: Path | None = None,
) -> list[str]:
    """`flower-superlink` on one port; `host` 0.0.0.0 for nodes on other machines."""
    if supernode_auth and tls is None:
        raise ValueError("SuperNode authentication needs TLS")
    argv = [flower_bin("flower-superlink"), "--host", host, "--port", str(port)]
    if tls is None:
        argv.append("--insecure")
    else:
        argv += [
            "--ssl-ca-certfile",
            str(tls.ca_cert),
            "--ssl-certfile",
            str(tls.server_cert),
            "--ssl-keyfile",
            str(tls.server_key),
        ]
    if supernode_auth:
        argv.append("--enable-supernode-auth")
    if database is not None:
        argv += ["--database", str(database)]
    argv.append("--disable-runtime-dependency-installation")
    return argv


def node_config_arg(config: Mapping[str, ConfigValue]) -> str:
    """`--node-config` text: `key='string' key=1 key=true`, as Flower parses it."""
    parts = []
    for key, value in config.items():
        if not key or any(c.isspace() or c == "=" for c in key):
            raise ValueError(f"bad node config key {key!r}")
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int | float):
            text = repr(value)
        else:
            if "'" in value or "\n" in value:
                raise ValueError(f"config {key!r}: a value may not hold ' or newlines: {value!r}")
            text = f"'{value}'"
        parts.append(f"{key}={text}")
    return " ".join(parts)


def supernode_argv(
    *,
    superlink: str,
    port: int,
    node_config: Mapping[str, ConfigValue],
    host: str = "127.0.0.1",
    root_certificates: Path | None = None,
    auth_private_key: Path | None = None,
    max_retries: int | None = None,
) -> list[str]:
    """`flower-supernode` for the SuperLink at `superlink` (host:port); TLS with a root cert."""
    if auth_private_key is not None and root_certificates is None:
        raise ValueError("SuperNode authentication needs TLS (root certificates)")
    argv = [
        flower_bin("flower-supernode"),
        "--superlink",
        superlink,
        "--host",
        host,
        "--port",
        str(port),
        "--node-config",
        node_config_arg(node_config),
    ]
    if root_certificates is None:
        argv.append("--insecure")
    else:
        argv += ["--root-certificates", str(root_certificates)]
    if auth_private_key is not None:
        argv += ["--auth-supernode-private-key", str(auth_private_key)]
    if max_retries is not None:
        argv += ["--max-retries", str(max_retries)]
    return argv


def daemon_spec(name: str, argv: list[str], flwr_home: Path, log_path: Path) -> ProcessSpec:
    """A daemon with a `FLWR_HOME` of its own (where it unpacks apps).

    Daemons start their helpers (`flower-superexec`, `flwr-serverapp`, `flwr-clientapp`) by name,
    so this environment's bin folder goes first on their PATH.
    """
    flwr_home.mkdir(parents=True, exist_ok=True)
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {"FLWR_HOME": str(flwr_home), "PATH": path}
    return ProcessSpec(name=name, argv=argv, log_path=log_path, env=env)


def log_has(process: ManagedProcess, text: str) -> bool:
    try:
        return text in process.spec.log_path.read_text(errors="replace")
    except OSError:
        return False


def wait_for_log(process: ManagedProcess, text: str, timeout_s: float = 60.0) -> None:
    """Until `text` shows in the process's log (it must stay alive meanwhile)."""
    process.wait_ready(timeout_s, check=lambda: log_has(process, text))


def kill_group(process: ManagedProcess, sig: signal.Signals = signal.SIGKILL) -> None:
    """Signal the process and everything it started (SuperExec, ClientApp processes).

    `Supervisor` starts each child in a session of its own, so its process group is its pid.
    """
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


class FlowerDaemons(Supervisor):
    """A `Supervisor` that also ends each daemon's helpers when it stops the daemons."""

    def stop_all(self, grace_s: float = 10.0) -> dict[str, int]:
        codes = super().stop_all(grace_s)
        for process in self.processes:
            kill_group(process)
        return codes


def wait_ready_all(processes: Sequence[ManagedProcess], timeout_s: float = 60.0) -> None:
    for process in processes:
        wait_for_log(process, READY_LINE, timeout_s)


# --- The flwr CLI -----------------------------------------------------------------------------


def flwr_cli(
    args: Sequence[str], flwr_home: Path, *, timeout_s: float = 120.0
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [flower_bin("flwr"), *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env={**os.environ, "FLWR_HOME": str(flwr_home)},
        check=False,
    )
    if done.returncode != 0:
        raise FlowerCommandFailed(
            f"flwr {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
    return done


def _json_output(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    text = done.stdout
    start = text.find("{")
    try:
        value: dict[str, Any] = json.loads(text[start:])
    except ValueError as exc:
        raise FlowerCommandFailed(f"no JSON in flwr's output:\n{text}\n{done.stderr}") from exc
    if not value.get("success", False):
        raise FlowerCommandFailed(f"flwr reported a failure: {value}")
    return value


def run_config_arg(run_config: Mapping[str, ConfigValue]) -> str:
    """`--run-config` text; strings are quoted the way Flower's parser expects."""
    return node_config_arg(run_config)


def start_run(
    app: Path,
    connection: str,
    run_config: Mapping[str, ConfigValue],
    flwr_home: Path,
) -> int:
    """Submit a run of the app at `app` and return its run id (it runs on in the SuperLink)."""
    args = ["run", str(app), connection, "--format", "json"]
    if run_config:
        args += ["--run-config", run_config_arg(run_config)]
    return int(_json_output(flwr_cli(args, flwr_home))["run-id"])


def run_status(run_id: int, connection: str, flwr_home: Path) -> str:
    """`pending`, `starting`, `running`, or `finished:completed|failed|stopped`."""
    done = flwr_cli(["ls", connection, "--run-id", str(run_id), "--format", "json"], flwr_home)
    runs = _json_output(done)["runs"]
    return str(runs[0]["status"])


def wait_for_run(
    run_id: int,
    connection: str,
    flwr_home: Path,
    *,
    timeout_s: float = 600.0,
    poll_s: float = 1.0,
) -> str:
    """The run's final status; stops the run and raises `TimeoutError` when it takes too long."""
    deadline = time.monotonic() + timeout_s
    while True:
        status = run_status(run_id, connection, flwr_home)
        if status.startswith(FINISHED):
            return status
        if time.monotonic() >= deadline:
            stop_run(run_id, connection, flwr_home)
            raise TimeoutError(f"run {run_id} still {status} after {timeout_s:.0f}s")
        time.sleep(poll_s)


def stop_run(run_id: int, connection: str, flwr_home: Path) -> None:
    try:
        flwr_cli(["stop", str(run_id), connection], flwr_home)
    except FlowerCommandFailed:
        pass  # already finished


def run_log(run_id: int, connection: str, flwr_home: Path) -> str:
    """The ServerApp's log of a run, as the SuperLink kept it."""
    return flwr_cli(["log", str(run_id), connection, "--show"], flwr_home).stdout


def register_supernode(
    public_key_path: Path, connection: str, flwr_home: Path, *, name: str | None = None
) -> int:
    """Register a SuperNode's public key with a SuperLink that runs with node authentication."""
    args = ["supernode", "register", str(public_key_path), connection, "--format", "json"]
    if name:
        args += ["--name", name]
    out = _json_output(flwr_cli(args, flwr_home))
    node_id = out.get("node-id", out.get("node_id"))
    return int(node_id) if node_id is not None else 0


# --- Keys and certificates --------------------------------------------------------------------


def generate_node_key(path: Path) -> tuple[Path, Path]:
    """A SuperNode's key pair: EC P-384 in OpenSSH format, `path` and `path.pub`."""
    key = ec.generate_private_key(ec.SECP384R1())
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_secret(
        path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        ),
    )
    public = path.with_name(path.name + ".pub")
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
    )
    return path, public


def _write_secret(path: Path, data: bytes) -> None:
    """A private key, readable by its owner only from the moment it exists."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def generate_server_tls(
    folder: Path,
    *,
    hosts: Sequence[str] = ("localhost", "127.0.0.1"),
    days: int = 365,
) -> ServerTls:
    """A self-signed CA and a SuperLink certificate it signs, valid for `hosts` (names or IPs).

    Nodes get `ca.crt` (their root certificate); the CA's key is written beside it for issuing
    later certificates and must stay with the operator.
    """
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP384R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Yunfab federated learning CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    server_key = ec.generate_private_key(ec.SECP384R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    tls = ServerTls(folder / "ca.crt", folder / "server.pem", folder / "server.key")
    tls.ca_cert.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    _write_secret(folder / "ca.key", _pem_key(ca_key))
    tls.server_cert.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    _write_secret(tls.server_key, _pem_key(server_key))
    return tls


__all__ = [
    "COMPLETED",
    "Connection",
    "FlowerCommandFailed",
    "FlowerDaemons",
    "ProcessFailed",
    "ServerTls",
    "app_dir",
    "daemon_spec",
    "generate_node_key",
    "generate_server_tls",
    "kill_group",
    "node_config_arg",
    "register_supernode",
    "run_log",
    "run_status",
    "start_run",
    "stop_run",
    "superlink_argv",
    "supernode_argv",
    "wait_for_log",
    "wait_for_run",
    "wait_ready_all",
    "write_cli_config",
]
