"""The Helm charts and container images, checked without a cluster or a Docker engine.

Every example in `helm/ci/*-values.yaml` is rendered with helm-python-sdk (Helm's own Go engine,
in-process), linted strictly, and its manifests validated with `kubernetes-validate --strict`
against the oldest Kubernetes the charts support and the newest the validator knows, where a
warning (an unknown kind, say) fails as an error does. The environment the charts give each
container is then read back into the apps' own settings classes: every YUNFAB_* variable must be
a field the app reads, every field must be reachable from the chart, and the production
validators (https URLs, secrets, TLS) must pass.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import helm_python as helm
import pytest
from typer.testing import CliRunner

from federated_learning import deploy
from hub.settings import HubSettings
from policies import policy_files
from regional_node.settings import NodeSettings, NodeStorageSettings
from yunfab.settings import ServiceSettings
from yunfab_cli.main import app as cli_app
from yunfab_demo import mosquitto

ROOT = Path(__file__).resolve().parent.parent
HELM = ROOT / "helm"
CHARTS = {"hub": HELM / "yunfab-hub", "node": HELM / "yunfab-node"}
EXAMPLES = sorted((HELM / "ci").glob("*-values.yaml"))
PREFIXES = {"hub": "YUNFAB_HUB_", "node": "YUNFAB_NODE_"}
SETTINGS: dict[str, type[ServiceSettings]] = {"hub": HubSettings, "node": NodeSettings}
# The oldest Kubernetes the charts support (Chart.yaml's kubeVersion) and the newest the
# validator knows.
KUBE_VERSIONS = ("1.29.0", "latest")
STANDARD_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/part-of",
    "helm.sh/chart",
)
# What an operator's own Secret (secrets.existingSecret) holds under each documented key.
EXISTING_SECRET_SAMPLES = {
    "database-url": "postgresql://yunfab:from-the-secret@db.example.cn:5432/yunfab",
    "signing-key-passphrase": "from-the-secret",
    "client-secret": "from-the-secret",
    "mqtt-password": "from-the-secret",
    "broker-admin-password": "from-the-secret",
    "s3-secret-access-key": "from-the-secret",
}
POD_KINDS = {"Deployment", "Job", "StatefulSet", "DaemonSet"}


@dataclass
class Rendered:
    """One example rendered: its values and its manifests, as Kubernetes objects."""

    example: Path
    service: str
    values: dict[str, Any]
    namespace: str
    templates: dict[str, str]
    objects: list[dict[str, Any]] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]

    def named(self, kind: str, name: str) -> dict[str, Any] | None:
        return next((o for o in self.of_kind(kind) if o["metadata"]["name"] == name), None)

    def pod_specs(self) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        for obj in self.objects:
            if obj["kind"] in POD_KINDS:
                yield obj, obj["spec"]["template"]["spec"]


def service_of(example: Path) -> str:
    """Which chart an example is for: `<scenario>-hub-...` or `<scenario>-node-...`."""
    match = re.search(r"-(hub|node)-", example.name)
    assert match, f"{example.name}: name it <scenario>-hub-values.yaml or <scenario>-node-..."
    return match.group(1)


def split_documents(text: str) -> list[dict[str, Any]]:
    """The objects of one rendered template (YAML documents separated by ---)."""
    documents = re.split(r"(?m)^---[ \t]*$", text)
    return [doc for part in documents if (doc := helm.values_from_yaml(part))]


def release_of(service: str, values: dict[str, Any]) -> tuple[str, str]:
    """Release name and namespace, as docs/deploy.md installs them: one namespace per node."""
    if service == "hub":
        return "yunfab-hub", "yunfab-hub"
    name = values["node"]["name"]
    return name, f"yunfab-{name}"


def render(service: str, values: dict[str, Any], *, name: str, namespace: str) -> dict[str, str]:
    with helm.Chart.load(CHARTS[service]) as chart:
        return chart.render(values, name=name, namespace=namespace, is_install=True)


@cache
def rendered(example: Path) -> Rendered:
    service = service_of(example)
    values = helm.values_from_yaml(example.read_text())
    name, namespace = release_of(service, values)
    templates = render(service, values, name=name, namespace=namespace)
    result = Rendered(example, service, values, namespace, templates)
    for path, text in sorted(templates.items()):
        if not path.endswith("NOTES.txt"):
            result.objects += split_documents(text)
    return result


def examples_of(service: str) -> list[Path]:
    return [example for example in EXAMPLES if service_of(example) == service]


def scaled_out(result: Rendered) -> bool:
    return bool(result.values.get("scaleOut", {}).get("enabled"))


SCALED_OUT = [example for example in EXAMPLES if example.name.startswith("scaled-out-")]
SCALED_OUT_NODES = [example for example in SCALED_OUT if service_of(example) == "node"]
# What a StatefulSet's pod is called, for a variable the chart takes from metadata.name.
SAMPLE_POD_NAME = "gd-injection-moulding-yunfab-node-ingest-0"


def test_there_are_examples_for_both_charts_and_both_scenarios() -> None:
    names = {example.name for example in EXAMPLES}
    assert {"single-region-hub-values.yaml", "multi-region-hub-values.yaml"} <= names
    assert len(examples_of("node")) >= 3
    assert any(name.startswith("single-region-node-") for name in names)
    assert sum(name.startswith("multi-region-node-") for name in names) >= 2
    assert sorted(service_of(example) for example in SCALED_OUT) == ["hub", "node"]


# --- Render, lint, validate --------------------------------------------------------------------


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_example_lints_strictly_without_errors(example: Path) -> None:
    service = service_of(example)
    values = helm.values_from_yaml(example.read_text())
    _, namespace = release_of(service, values)
    report = helm.lint(CHARTS[service], values, strict=True, namespace=namespace)
    assert report["total_charts_linted"] == 1
    assert report["errors"] == []
    # Severity 2 is a warning, 3 an error; 1 (info) is Helm's "icon is recommended".
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


@pytest.mark.parametrize("service", sorted(CHARTS))
def test_chart_defaults_lint_strictly_without_errors(service: str) -> None:
    report = helm.lint(CHARTS[service], None, strict=True)
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_example_renders_valid_kubernetes_objects(example: Path, tmp_path: Path) -> None:
    result = rendered(example)
    kinds = {obj["kind"] for obj in result.objects}
    expected = {"Deployment", "Service", "Job", "ServiceAccount", "NetworkPolicy", "Ingress"}
    if scaled_out(result):
        expected |= {"PodDisruptionBudget", "HorizontalPodAutoscaler"}
        if result.service == "node":
            expected.add("StatefulSet")  # the ingest consumers
    else:
        expected.add("PersistentVolumeClaim")
    if not result.values["secrets"].get("existingSecret"):
        expected.add("Secret")
    assert expected <= kinds
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text("\n---\n".join(json.dumps(obj) for obj in result.objects) + "\n")
    for version in KUBE_VERSIONS:
        done = subprocess.run(
            [sys.executable, "-m", "kubernetes_validate", "--strict", "--quiet"]
            + (["-k", version] if version != "latest" else [])
            + [str(manifest)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        # --quiet prints only warnings and failures: any line at all is a finding.
        findings = (done.stdout + done.stderr).strip()
        assert not findings, f"Kubernetes {version}:\n{findings}"
        assert done.returncode == 0, f"Kubernetes {version}: exit {done.returncode}"


def test_the_validator_finds_what_it_should() -> None:
    """The strict validation above is not a no-op: an unknown field fails it."""
    bad = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {"prots": []}}
    done = subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "--strict", "--quiet", "-"],
        input=json.dumps(bad),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "prots" in done.stdout


# --- Required values and the schema ------------------------------------------------------------


def _without(values: dict[str, Any], dotted: str) -> dict[str, Any]:
    copy = json.loads(json.dumps(values))
    *parents, leaf = dotted.split(".")
    target = copy
    for key in parents:
        target = target[key]
    target[leaf] = ""
    return copy


REQUIRED = [
    ("single-region-hub-values.yaml", "publicUrl"),
    ("single-region-hub-values.yaml", "secrets.databaseUrl"),
    ("single-region-hub-values.yaml", "secrets.signingKeyPassphrase"),
    ("single-region-hub-values.yaml", "flower.tls.secretName"),
    ("single-region-node-zj-textile-values.yaml", "node.name"),
    ("single-region-node-zj-textile-values.yaml", "node.region"),
    ("single-region-node-zj-textile-values.yaml", "node.hubUrl"),
    ("single-region-node-zj-textile-values.yaml", "node.publicUrl"),
    ("single-region-node-zj-textile-values.yaml", "node.clientId"),
    ("single-region-node-zj-textile-values.yaml", "secrets.databaseUrl"),
    ("single-region-node-zj-textile-values.yaml", "secrets.clientSecret"),
    ("single-region-node-zj-textile-values.yaml", "secrets.mqttPassword"),
    ("single-region-node-zj-textile-values.yaml", "secrets.brokerAdminPassword"),
    ("single-region-node-zj-textile-values.yaml", "mosquitto.tls.secretName"),
    ("single-region-node-zj-textile-values.yaml", "flower.superlink"),
    ("single-region-node-zj-textile-values.yaml", "flower.rootCertificates.secretName"),
    ("single-region-node-zj-textile-values.yaml", "flower.authKey.secretName"),
    ("multi-region-node-gd-injection-moulding-values.yaml", "mqtt.url"),
]


@pytest.mark.parametrize(("example", "value"), REQUIRED, ids=[f"{e[:12]}-{v}" for e, v in REQUIRED])
def test_a_missing_required_value_stops_rendering_naming_it(example: str, value: str) -> None:
    """No secret or address has a default: leaving one out fails with a line naming it."""
    path = HELM / "ci" / example
    service = service_of(path)
    values = _without(helm.values_from_yaml(path.read_text()), value)
    name, namespace = release_of(service, helm.values_from_yaml(path.read_text()))
    with pytest.raises(helm.HelmRenderError, match=re.escape(value) + " (is required|must be)"):
        render(service, values, name=name, namespace=namespace)


@pytest.mark.parametrize(
    ("service", "values", "complaint"),
    [
        ("hub", {"publicUrl": "http://hub.example.cn"}, "publicUrl"),
        ("hub", {"settings": {"host": "127.0.0.1"}}, "host"),
        ("hub", {"settings": {"signing_key_passphrase": "in-values"}}, "signing_key_passphrase"),
        ("hub", {"settings": {"no_such_setting": 1}}, "no_such_setting"),
        ("hub", {"securityContext": {"readOnlyRootFilesystem": False}}, "readOnlyRootFilesystem"),
        ("node", {"node": {"region": "Zhejiang"}}, "region"),
        ("node", {"settings": {"client_secret": "in-values"}}, "client_secret"),
        ("node", {"settings": {"data_products": ["everything"]}}, "data_products"),
        ("node", {"mqtt": {"url": "mqtt://broker:1883"}}, "url"),
    ],
)
def test_the_schema_refuses_bad_values(
    service: str, values: dict[str, Any], complaint: str
) -> None:
    with helm.Chart.load(CHARTS[service]) as chart, pytest.raises(helm.HelmValuesError) as error:
        chart.validate_schema(chart.merge_values(values))
    assert complaint in str(error.value)


# --- The chart's settings are the apps' settings -----------------------------------------------


def settings_class(service: str, args: list[str]) -> type[ServiceSettings] | None:
    """The settings a container's command reads, as the CLI loads them."""
    classes: dict[tuple[str, ...], type[ServiceSettings]] = {
        ("hub", "serve"): HubSettings,
        ("hub", "worker"): HubSettings,
        ("db", "upgrade", "hub"): HubSettings,
        ("node", "serve"): NodeSettings,
        ("node", "worker"): NodeSettings,
        ("node", "ingest"): NodeSettings,
        ("db", "upgrade", "node"): NodeStorageSettings,
    }
    return classes.get(tuple(args))


def yunfab_containers(
    result: Rendered,
) -> Iterator[tuple[dict[str, Any], type[ServiceSettings]]]:
    for _, spec in result.pod_specs():
        for container in spec.get("containers", []):
            cls = settings_class(result.service, container.get("args", []))
            if cls is not None:
                yield container, cls


def secret_fields(cls: type[ServiceSettings]) -> set[str]:
    """Settings that hold secrets: SecretStr fields, and the database URL (it has a password)."""
    secrets = {
        name for name, info in cls.model_fields.items() if "SecretStr" in str(info.annotation)
    }
    return secrets | {"database_url"}


def secret_value(result: Rendered, name: str, key: str) -> str:
    secret = result.named("Secret", name)
    if secret is None:
        assert name == result.values["secrets"]["existingSecret"], f"no Secret {name}"
        assert key in EXISTING_SECRET_SAMPLES, f"undocumented key {key} of Secret {name}"
        return EXISTING_SECRET_SAMPLES[key]
    assert key in secret.get("data", {}), f"Secret {name} has no key {key}"
    return base64.b64decode(secret["data"][key]).decode()


def mounted_file(spec: dict[str, Any], container: dict[str, Any], path: str) -> bool:
    """Whether `path` is a file a volume puts into this container."""
    target = PurePosixPath(path)
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        base = PurePosixPath(mount["mountPath"])
        if base not in target.parents:
            continue
        volume = volumes[mount["name"]]
        source = volume.get("secret") or volume.get("configMap")
        if source is None:
            continue
        relative = str(target.relative_to(base))
        items = source.get("items")
        if items is None or any(item["path"] == relative for item in items):
            return True
    return False


def container_environment(
    result: Rendered, spec: dict[str, Any], container: dict[str, Any], tmp_path: Path
) -> dict[str, str]:
    """The container's YUNFAB_* environment as the app would see it; files the chart mounts are
    stood in for by local files (after checking that a volume does mount them)."""
    env: dict[str, str] = {}
    for item in container.get("env", []):
        if not item["name"].startswith("YUNFAB_"):
            continue
        if "value" in item:
            value = str(item["value"])
        elif "fieldRef" in item["valueFrom"]:
            assert item["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name", item
            value = SAMPLE_POD_NAME
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            made = result.named("Secret", ref["name"])
            if ref.get("optional") and made is not None and ref["key"] not in made["data"]:
                continue  # an optional key the chart's Secret does not hold: unset
            value = secret_value(result, ref["name"], ref["key"])
        if value.startswith("/etc/"):
            assert mounted_file(spec, container, value), f"{item['name']}: {value} is not mounted"
            local = tmp_path / value.lstrip("/")
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_text("stand-in\n")
            value = str(local)
        env[item["name"]] = value
    return env


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_yunfab_variable_the_chart_sets_is_a_setting(example: Path) -> None:
    result = rendered(example)
    prefix = PREFIXES[result.service]
    fields = set(SETTINGS[result.service].model_fields)
    seen = 0
    for obj in result.objects:
        for text in re.findall(r'"?(YUNFAB_[A-Z0-9_]+)', json.dumps(obj)):
            assert text.startswith(prefix), f"{text} in the {result.service} chart"
            assert text.removeprefix(prefix).lower() in fields, f"{text} is not a setting"
            seen += 1
    assert seen > 10


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_the_apps_accept_the_charts_environment_in_production(
    example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each container's environment builds the app's settings, production validators included:
    https URLs, the signing key passphrase, node credentials, mqtts with a broker admin, TLS to
    the SuperLink. Secrets come from Secrets, never from plain values."""
    result = rendered(example)
    checked = 0
    for _, spec in result.pod_specs():
        for container in spec.get("containers", []):
            cls = settings_class(result.service, container.get("args", []))
            if cls is None:
                continue
            for name in [n for n in os.environ if n.startswith("YUNFAB_")]:
                monkeypatch.delenv(name)
            env = container_environment(result, spec, container, tmp_path)
            for name, value in env.items():
                monkeypatch.setenv(name, value)
            settings = cls()
            assert settings.env == "production"
            assert settings.auto_migrate is False
            for item in container.get("env", []):
                name = item["name"].removeprefix(PREFIXES[result.service]).lower()
                if name in secret_fields(cls):
                    assert "secretKeyRef" in item.get("valueFrom", {}), item["name"]
            checked += 1
    # The server and the migrations job; scaled out also the worker (and a node's ingest
    # consumers); a hub with NATS also its worker.
    expected = 2
    if result.service == "hub" and result.values["settings"].get("nats_url"):
        expected += 1
    elif scaled_out(result):
        expected += 2
    assert checked == expected


REQUIRED_IN_PRODUCTION = {
    "hub": {
        "public_url",
        "signing_key_passphrase",
        "database_url",
        "flower_superlink",
        "flower_root_certificates",
    },
    "node": {
        "name",
        "region",
        "industry",
        "public_url",
        "hub_url",
        "client_id",
        "client_secret",
        "database_url",
        "mqtt_url",
        "mqtt_username",
        "mqtt_password",
        "broker_admin_username",
        "broker_admin_password",
        "flower_public_key_file",
    },
}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_the_server_gets_every_setting_production_requires(example: Path) -> None:
    """What the apps demand outside development (and what the issue asks of the charts): the
    hub's passphrase and https issuer, a node's hub credentials and https hub, mqtts with a
    broker admin, TLS and keys for Flower; every secret among them from a Secret."""
    result = rendered(example)
    prefix = PREFIXES[result.service]
    server = next(c for c, _ in yunfab_containers(result) if c["args"][-1] == "serve")
    env = {e["name"]: e for e in server["env"]}
    required = REQUIRED_IN_PRODUCTION[result.service]
    if scaled_out(result) and result.service == "node":
        # The broker is the ingest consumers' (the API replicas do not consume: see
        # test_the_scaled_out_api_replicas_leave_the_device_stream_to_the_ingest_consumers).
        broker = {n for n in required if n.startswith(("mqtt_", "broker_admin_"))}
        ingest = next(c for c, _ in yunfab_containers(result) if c["args"] == ["node", "ingest"])
        ingest_env = {e["name"] for e in ingest["env"]}
        for name in broker:
            assert prefix + name.upper() in ingest_env, f"ingest: {prefix}{name.upper()}"
        required = required - broker
    for name in required:
        assert prefix + name.upper() in env, f"{prefix}{name.upper()} is not set"
    for name in secret_fields(SETTINGS[result.service]):
        item = env.get(prefix + name.upper())
        if item is not None:
            assert "secretKeyRef" in item.get("valueFrom", {}), f"{item['name']} is not a secret"
    urls = [f"{prefix}PUBLIC_URL"] + ([f"{prefix}HUB_URL"] if result.service == "node" else [])
    for name in urls:
        assert env[name]["value"].startswith("https://"), name


def _types(schema: dict[str, Any], defs: dict[str, Any]) -> tuple[set[str], set[Any] | None]:
    """JSON types (and enum values, if restricted) a property schema accepts."""
    if "$ref" in schema:
        return _types(defs[schema["$ref"].rsplit("/", 1)[1]], defs)
    types: set[str] = set()
    enum: set[Any] | None = None
    for key in ("anyOf", "oneOf"):
        for sub in schema.get(key, []):
            sub_types, sub_enum = _types(sub, defs)
            types |= sub_types
            if sub_enum is not None:
                enum = (enum or set()) | sub_enum
    declared = schema.get("type")
    if declared is not None:
        types |= set(declared) if isinstance(declared, list) else {declared}
    if "enum" in schema:
        enum = set(schema["enum"])
    if "items" in schema:
        item_types, item_enum = _types(schema["items"], defs)
        types = {f"array<{t}>" if t == "array" else t for t in types}
        if item_enum is not None:
            enum = item_enum
    return types, enum


@pytest.mark.parametrize("service", sorted(CHARTS))
def test_the_chart_reaches_every_setting_and_only_settings(service: str) -> None:
    """Two ways: what the chart can set is exactly what the app reads. A setting added to the
    app fails this test until the chart sets it or its values.schema.json accepts it under
    `settings` (with the same JSON type); secrets may only come from Secrets."""
    cls = SETTINGS[service]
    fields = set(cls.model_fields)
    schema = json.loads((CHARTS[service] / "values.schema.json").read_text())
    free = schema["properties"]["settings"]["properties"]
    prefix = PREFIXES[service]
    managed: set[str] = set()
    for example in examples_of(service):
        values = helm.values_from_yaml(example.read_text())
        # The scaled-out profile cannot render without its engines' settings: they stay, and
        # are left out of what the chart sets itself.
        given = set(values["settings"]) if values.get("scaleOut", {}).get("enabled") else set()
        values["settings"] = {k: v for k, v in values["settings"].items() if k in given}
        name, namespace = release_of(service, values)
        for text in render(service, values, name=name, namespace=namespace).values():
            managed |= {
                v.removeprefix(prefix).lower() for v in re.findall(prefix + r"[A-Z0-9_]+", text)
            } - given
    assert set(free) <= fields, f"not settings: {sorted(set(free) - fields)}"
    assert managed <= fields, f"not settings: {sorted(managed - fields)}"
    assert not set(free) & managed, f"set by the chart and in `settings`: {set(free) & managed}"
    assert fields <= set(free) | managed, (
        f"the chart cannot set {sorted(fields - set(free) - managed)}"
    )
    app_schema = cls.model_json_schema()
    defs = app_schema.get("$defs", {})
    for key, prop in free.items():
        assert key not in secret_fields(cls), f"{key} is a secret: Secrets only"
        chart_types, chart_enum = _types(prop, {})
        app_types, app_enum = _types(app_schema["properties"][key], defs)
        assert chart_types - {"null"} == app_types - {"null"}, (
            f"{key}: {chart_types} vs {app_types}"
        )
        assert ("null" in chart_types) <= ("null" in app_types), f"{key} may not be null"
        if app_enum is not None:
            assert chart_enum is not None, f"{key}: the app accepts only {app_enum}"
            assert chart_enum <= app_enum, f"{key}: {chart_enum} vs {app_enum}"


# --- Entry points, Flower, policies, the broker ------------------------------------------------


def dockerfile(service: str) -> str:
    return (ROOT / "docker" / f"{service}.Dockerfile").read_text()


def _instruction(text: str, name: str) -> list[str]:
    lines = [line for line in text.splitlines() if line.startswith(name + " ")]
    assert len(lines) == 1, f"one {name} expected"
    parsed: list[str] = json.loads(lines[0].removeprefix(name + " "))
    return parsed


@pytest.mark.parametrize("service", sorted(CHARTS))
def test_images_run_the_cli_as_the_chart_does(service: str) -> None:
    text = dockerfile(service)
    assert _instruction(text, "ENTRYPOINT") == ["yunfab"]
    command = _instruction(text, "CMD")
    assert command == [service, "serve"]
    assert len(re.findall(r"(?m)^FROM ", text)) >= 2, "multi-stage"
    assert re.search(r"(?m)^ARG PYTHON_IMAGE=python:3\.11-slim", text)
    user = re.search(r"(?m)^USER (\S+)", text)
    assert user
    assert not user.group(1).startswith(("0", "root"))
    healthcheck = re.search(r"(?ms)^HEALTHCHECK .*?^\S", text)
    assert healthcheck
    assert "/healthz" in healthcheck.group(0)
    for example in examples_of(service):
        args = [c["args"] for c, _ in yunfab_containers(rendered(example))]
        assert command in args
        for argv in args:
            done = CliRunner().invoke(cli_app, [*argv, "--help"])
            assert done.exit_code == 0, done.output


def test_the_node_image_installs_the_torch_the_ml_extra_pins() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = [r for r in project["optional-dependencies"]["ml"] if r.startswith("torch")]
    assert len(pins) == 1
    assert pins[0].startswith("torch==")
    version = pins[0].removeprefix("torch==")
    text = dockerfile("node")
    assert f"ARG TORCH_VERSION={version}\n" in text
    assert "download.pytorch.org/whl/cpu" in text
    assert '".[node,ml]"' in text
    hub = dockerfile("hub")
    assert '".[hub]"' in hub  # Flower, and none of the node's libraries
    assert "ml]" not in hub
    assert "torch==" not in hub


def test_the_hub_runs_the_superlink_as_federated_learning_deploys_it() -> None:
    for example in examples_of("hub"):
        result = rendered(example)
        if scaled_out(result):
            continue  # test_the_scaled_out_hub_runs_its_superlink_in_a_pod_of_its_own
        deployment = result.of_kind("Deployment")[0]
        spec = deployment["spec"]["template"]["spec"]
        link = next(c for c in spec["containers"] if c["name"] == "superlink")
        flower = result.values["flower"]
        port = flower.get("port", 9092)
        tls = deploy.ServerTls(
            Path("/etc/yunfab/flower-tls/ca.crt"),
            Path("/etc/yunfab/flower-tls/tls.crt"),
            Path("/etc/yunfab/flower-tls/tls.key"),
        )
        expected = deploy.superlink_argv(
            port=port,
            host="0.0.0.0",
            tls=tls,
            supernode_auth=True,
            database=Path("/var/lib/yunfab/flower-superlink.db"),
        )
        assert link["command"][-1] == Path(expected[0]).name
        assert link["args"][:-2] == expected[1:]
        assert link["args"][-2] == "--health-server-address"
        for path in (tls.ca_cert, tls.server_cert, tls.server_key):
            assert mounted_file(spec, link, str(path))
        hub = next(c for c in spec["containers"] if c["name"] == "hub")
        env = {e["name"]: e.get("value") for e in hub["env"]}
        assert env["YUNFAB_HUB_FLOWER_SUPERLINK"] == f"localhost:{port}"
        # The ServerApp writes each run's model where the hub reads it: one volume, one path.
        data = {m["mountPath"]: m["name"] for m in hub["volumeMounts"]}
        assert data.get("/var/lib/yunfab") == "data"
        assert {m["mountPath"]: m["name"] for m in link["volumeMounts"]}[
            "/var/lib/yunfab"
        ] == "data"


def test_each_node_runs_its_supernode_as_federated_learning_deploys_it() -> None:
    for example in examples_of("node"):
        result = rendered(example)
        # In the node's pod, or (scaled out) one pod of its own beside the API replicas.
        pods = [
            s
            for _, s in result.pod_specs()
            if any(c["name"] == "supernode" for c in s["containers"])
        ]
        assert len(pods) == 1
        spec = pods[0]
        supernode = next(c for c in spec["containers"] if c["name"] == "supernode")
        if scaled_out(result):
            owner = next(d for d, s in result.pod_specs() if s is spec)
            assert owner["kind"] == "Deployment"
            assert owner["spec"]["replicas"] == 1
            assert owner["spec"]["strategy"] == {"type": "Recreate"}
        values = result.values
        store = values["flower"].get("dataPath") or "/var/lib/yunfab/image-store"
        expected = deploy.supernode_argv(
            superlink=values["flower"]["superlink"],
            port=9094,
            node_config={"node-name": values["node"]["name"], "data-path": store},
            root_certificates=Path("/etc/yunfab/flower-ca/ca.crt"),
            auth_private_key=Path("/etc/yunfab/flower-key/supernode.key"),
        )
        assert supernode["command"][-1] == Path(expected[0]).name
        assert supernode["args"][:-2] == expected[1:]
        assert mounted_file(spec, supernode, "/etc/yunfab/flower-key/supernode.key")
        api = next(
            s for _, s in result.pod_specs() if any(c["name"] == "node" for c in s["containers"])
        )
        spec = api
        node = next(c for c in spec["containers"] if c["name"] == "node")
        # The node container sees the SuperNode's public key only.
        assert not mounted_file(spec, node, "/etc/yunfab/flower-key/supernode.key")
        assert mounted_file(spec, node, "/etc/yunfab/flower-key/supernode.key.pub")


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_the_opa_sidecar_loads_exactly_the_policies(example: Path) -> None:
    result = rendered(example)
    maps = [m for m in result.of_kind("ConfigMap") if m["metadata"]["name"].endswith("-policies")]
    if result.values.get("policy", {}).get("engine", "opa") != "opa":
        assert maps == []
        return
    assert len(maps) == 1
    expected = {path.name: path.read_text().rstrip("\n") for path in policy_files()}
    assert {k: v.rstrip("\n") for k, v in maps[0]["data"].items()} == expected
    pod = next(
        spec
        for _, spec in result.pod_specs()
        if any(c["name"] == "opa" for c in spec["containers"])
    )
    opa = next(c for c in pod["containers"] if c["name"] == "opa")
    assert "--addr=127.0.0.1:8181" in opa["args"]
    app = next(c for c in pod["containers"] if c["name"] in ("hub", "node"))
    env = {e["name"]: e.get("value") for e in app["env"]}
    prefix = PREFIXES[result.service]
    assert env[prefix + "POLICY_ENGINE"] == "opa"
    assert env[prefix + "OPA_URL"] == "http://127.0.0.1:8181"


def test_the_chart_broker_is_configured_as_the_node_manages_one() -> None:
    result = rendered(HELM / "ci" / "single-region-node-zj-textile-values.yaml")
    config = next(
        m for m in result.of_kind("ConfigMap") if m["metadata"]["name"].endswith("-mosquitto")
    )
    lines = dict(
        line.split(" ", 1) for line in config["data"]["mosquitto.conf"].splitlines() if line
    )
    assert lines["allow_anonymous"] == "false"
    assert lines["per_listener_settings"] == "false"
    assert lines["max_queued_messages"] == str(mosquitto.MAX_QUEUED_MESSAGES)
    assert lines["max_inflight_messages"] == str(mosquitto.MAX_INFLIGHT_MESSAGES)
    assert lines["max_packet_size"] == str(mosquitto.MAX_PACKET_BYTES)
    assert lines["persistent_client_expiration"] == mosquitto.PERSISTENT_CLIENT_EXPIRATION
    assert lines["autosave_interval"] == str(mosquitto.AUTOSAVE_INTERVAL_S)
    assert lines["persistence_file"] == mosquitto.PERSISTENCE_NAME
    assert lines["plugin_opt_config_file"].endswith("/" + mosquitto.DYNSEC_NAME)
    assert lines["certfile"] == "/mosquitto/tls/tls.crt"
    assert lines["keyfile"] == "/mosquitto/tls/tls.key"


# --- Security, probes, resources, labels, network policies -------------------------------------


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_pods_are_locked_down_bounded_and_probed(example: Path) -> None:
    result = rendered(example)
    for obj, spec in result.pod_specs():
        where = f"{obj['kind']} {obj['metadata']['name']}"
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["enableServiceLinks"] is False, where
        assert spec["automountServiceAccountToken"] is False, where
        for container in spec.get("initContainers", []) + spec["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), where
            if container.get("args") in (["hub", "serve"], ["node", "serve"]):
                assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
                assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
                assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
            elif container.get("args") in (["node", "worker"], ["node", "ingest"]):
                # Their health port (settings.health_port).
                (port,) = container["ports"]
                env = {e["name"]: e.get("value") for e in container["env"]}
                assert env["YUNFAB_NODE_HEALTH_PORT"] == str(port["containerPort"]), where
                assert container["livenessProbe"]["httpGet"] == {
                    "path": "/healthz",
                    "port": port["name"],
                }
                assert container["readinessProbe"]["httpGet"] == {
                    "path": "/readyz",
                    "port": port["name"],
                }
            elif container.get("args") == ["hub", "worker"]:
                # This process serves no health endpoint: nothing to probe it with.
                assert "ports" not in container, where
            elif obj["kind"] == "Deployment" and container in spec["containers"]:
                assert "livenessProbe" in container, where
                assert "readinessProbe" in container, where


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_object_carries_the_standard_labels(example: Path) -> None:
    result = rendered(example)
    for obj in result.objects:
        labels = obj["metadata"].get("labels", {})
        missing = [label for label in STANDARD_LABELS if label not in labels]
        assert not missing, f"{obj['kind']} {obj['metadata']['name']} lacks {missing}"
        assert labels["app.kubernetes.io/part-of"] == "yunfab"


@pytest.mark.parametrize("example", examples_of("node"), ids=lambda p: p.stem)
def test_the_image_store_is_reachable_only_inside_its_namespace(example: Path) -> None:
    """The pod that mounts the image store (the node's, or scaled out the SuperNode's own) is
    the only one with its claim, and takes connections only from its own namespace and the
    ingress controller's, or none at all; the SuperNode and OPA listen on loopback."""
    result = rendered(example)
    store = result.values["flower"].get("dataPath") or "/var/lib/yunfab/image-store"
    workload, spec = next(
        (o, s)
        for o, s in result.pod_specs()
        if any(c["name"] == "supernode" for c in s["containers"])
    )
    supernode = next(c for c in spec["containers"] if c["name"] == "supernode")
    mount = max(
        (m for m in supernode["volumeMounts"] if store.startswith(m["mountPath"])),
        key=lambda m: len(m["mountPath"]),
    )
    volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
    store_claim = volume["persistentVolumeClaim"]["claimName"]
    for other, other_spec in result.pod_specs():
        if other is not workload:
            claims = {
                v.get("persistentVolumeClaim", {}).get("claimName") for v in other_spec["volumes"]
            }
            assert store_claim not in claims, other["metadata"]["name"]
    pod_labels = workload["spec"]["template"]["metadata"]["labels"]
    policies = [
        p
        for p in result.of_kind("NetworkPolicy")
        if p["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
    ]
    assert policies, "no NetworkPolicy selects the pod with the image store"
    selector = result.values.get("networkPolicy", {}).get("ingressNamespaceSelector")
    for policy in policies:
        assert policy["spec"]["policyTypes"] == ["Ingress"]
        rules = policy["spec"]["ingress"]
        if scaled_out(result):
            assert rules == result.values.get("networkPolicy", {}).get("extraIngress", [])
        else:
            assert rules
        for rule in rules:
            assert rule.get("from"), "a rule without peers admits every namespace"
            for peer in rule["from"]:
                assert "ipBlock" not in peer
                if "namespaceSelector" in peer:
                    assert peer["namespaceSelector"], (
                        "an empty namespaceSelector is every namespace"
                    )
                    if selector is None:
                        assert peer["namespaceSelector"] == {
                            "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}
                        }
                else:
                    assert peer == {"podSelector": {}}, peer
    assert supernode["args"][supernode["args"].index("--host") + 1] == "127.0.0.1"
    exposed = {p["name"] for c in spec["containers"] for p in c.get("ports", [])}
    assert ("http" in exposed) is not scaled_out(result)


# --- The scaled-out profile --------------------------------------------------------------------


def _workload(result: Rendered, kind: str, args: list[str]) -> dict[str, Any]:
    """The one workload of `kind` whose Yunfab container runs `yunfab <args>`."""
    found = [
        obj
        for obj in result.of_kind(kind)
        if any(c.get("args") == args for c in obj["spec"]["template"]["spec"]["containers"])
    ]
    assert len(found) == 1, f"{kind} running {args}: {len(found)}"
    return found[0]


def _selects(selector: dict[str, Any], workload: dict[str, Any]) -> bool:
    labels = workload["spec"]["template"]["metadata"]["labels"]
    return bool(selector["matchLabels"].items() <= labels.items())


def _render_scaled_out(**changes: Any) -> Rendered:
    """The node's scaled-out example with some values changed (dotted keys), rendered."""
    return _render_scaled("node", changes)


def _render_scaled(service: str, changes: dict[str, Any]) -> Rendered:
    """A chart's scaled-out example with some values changed (dotted keys), rendered."""
    (example,) = [e for e in SCALED_OUT if service_of(e) == service]
    values = helm.values_from_yaml(example.read_text())
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        target = values
        for key in parents:
            target = target.setdefault(key, {})
        target[leaf] = value
    name, namespace = release_of(service, values)
    templates = render(service, values, name=name, namespace=namespace)
    result = Rendered(example, service, values, namespace, templates)
    for path, text in sorted(templates.items()):
        if not path.endswith("NOTES.txt"):
            result.objects += split_documents(text)
    return result


@pytest.mark.parametrize("example", SCALED_OUT, ids=lambda p: p.stem)
def test_the_scaled_out_api_runs_replicas_that_roll_and_survive_disruptions(
    example: Path,
) -> None:
    result = rendered(example)
    api_values = result.values["scaleOut"]["api"]
    api = _workload(result, "Deployment", [result.service, "serve"])
    assert api["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
    }
    # The autoscaler owns the replica count: the Deployment does not fight it on upgrades.
    assert "replicas" not in api["spec"]
    (hpa,) = result.of_kind("HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": api["metadata"]["name"],
    }
    auto = api_values["autoscaling"]
    assert hpa["spec"]["minReplicas"] == auto["minReplicas"] >= 2
    assert hpa["spec"]["maxReplicas"] == auto["maxReplicas"] >= hpa["spec"]["minReplicas"]
    assert hpa["spec"]["metrics"] == [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {
                    "type": "Utilization",
                    "averageUtilization": auto["targetCPUUtilizationPercentage"],
                },
            },
        }
    ]
    container = next(
        c for c in api["spec"]["template"]["spec"]["containers"] if c["name"] == result.service
    )
    assert container["resources"]["requests"]["cpu"], "utilization needs a CPU request"
    budgets = [
        p for p in result.of_kind("PodDisruptionBudget") if _selects(p["spec"]["selector"], api)
    ]
    assert len(budgets) == 1
    assert budgets[0]["apiVersion"] == "policy/v1"
    assert budgets[0]["spec"]["minAvailable"] == api_values["podDisruptionBudget"]["minAvailable"]
    assert budgets[0]["spec"]["minAvailable"] < hpa["spec"]["minReplicas"], "drains could stall"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_without_the_autoscaler_the_api_keeps_its_replicas() -> None:
    result = _render_scaled_out(
        **{"scaleOut.api.autoscaling.enabled": False, "scaleOut.api.replicas": 3}
    )
    api = _workload(result, "Deployment", ["node", "serve"])
    assert api["spec"]["replicas"] == 3
    assert result.of_kind("HorizontalPodAutoscaler") == []
    assert len(result.of_kind("PodDisruptionBudget")) == 2  # the API's and the consumers'


@pytest.mark.parametrize("example", SCALED_OUT_NODES, ids=lambda p: p.stem)
def test_the_scaled_out_node_runs_workers_and_ingest_consumers_of_their_own(
    example: Path,
) -> None:
    result = rendered(example)
    scale = result.values["scaleOut"]
    worker = _workload(result, "Deployment", ["node", "worker"])
    assert worker["spec"]["replicas"] == scale["worker"]["replicas"]
    assert worker["spec"]["strategy"]["type"] == "RollingUpdate"
    (container,) = [
        c for c in worker["spec"]["template"]["spec"]["containers"] if c["name"] == "worker"
    ]
    defaults = helm.values_from_yaml((CHARTS["node"] / "values.yaml").read_text())
    assert container["resources"] == defaults["scaleOut"]["worker"]["resources"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["YUNFAB_NODE_NATS_URL"] == result.values["settings"]["nats_url"]
    assert env["YUNFAB_NODE_BLOB_STORE"] == "s3"
    assert "YUNFAB_NODE_MQTT_URL" not in env

    ingest = _workload(result, "StatefulSet", ["node", "ingest"])
    assert ingest["spec"]["replicas"] == scale["ingest"]["replicas"]
    assert ingest["spec"]["updateStrategy"] == {"type": "RollingUpdate"}
    assert "volumeClaimTemplates" not in ingest["spec"]
    service = result.named("Service", ingest["spec"]["serviceName"])
    assert service is not None
    assert service["spec"]["clusterIP"] == "None"
    (consumer,) = [
        c for c in ingest["spec"]["template"]["spec"]["containers"] if c["name"] == "ingest"
    ]
    env_items = {e["name"]: e for e in consumer["env"]}
    # Each consumer resumes its own persistent session: its client id is its stable pod name.
    assert env_items["YUNFAB_NODE_MQTT_CLIENT_ID"]["valueFrom"] == {
        "fieldRef": {"fieldPath": "metadata.name"}
    }
    assert (
        env_items["YUNFAB_NODE_MQTT_SHARED_GROUP"]["value"]
        == result.values["settings"]["mqtt_shared_group"]
    )
    assert env_items["YUNFAB_NODE_MQTT_URL"]["value"] == result.values["mqtt"]["url"]
    budgets = [
        p for p in result.of_kind("PodDisruptionBudget") if _selects(p["spec"]["selector"], ingest)
    ]
    assert [b["spec"]["maxUnavailable"] for b in budgets] == [1]
    # Every one of them is a process of this node, on its database, with the same sealing key.
    for workload in (worker, ingest, _workload(result, "Deployment", ["node", "serve"])):
        spec = workload["spec"]["template"]["spec"]
        (app,) = [c for c in spec["containers"] if c["args"][0] == "node"]
        names = {e["name"]: e for e in app["env"]}
        assert (
            names["YUNFAB_NODE_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"] == "database-url"
        )
        key_file = names["YUNFAB_NODE_ALERT_SECRETS_KEY_FILE"]["value"]
        assert mounted_file(spec, app, key_file)


@pytest.mark.parametrize("example", SCALED_OUT_NODES, ids=lambda p: p.stem)
def test_the_scaled_out_api_replicas_leave_the_device_stream_to_the_ingest_consumers(
    example: Path,
) -> None:
    """An API replica that consumed too would do it under a Deployment's random pod name: the
    broker would keep queueing a share of the stream for every replaced replica's session. It
    still manages the broker's logins (devices, the consumers' own): broker and admin, no
    consuming, no client id."""
    result = rendered(example)
    api = _workload(result, "Deployment", ["node", "serve"])
    (node,) = [c for c in api["spec"]["template"]["spec"]["containers"] if c["name"] == "node"]
    env = {e["name"]: e for e in node["env"]}
    assert "YUNFAB_NODE_MQTT_CLIENT_ID" not in env
    if result.values["mqtt"].get("enabled", True):
        assert env["YUNFAB_NODE_MQTT_CONSUME"]["value"] == "false"
        assert {"YUNFAB_NODE_MQTT_URL", "YUNFAB_NODE_BROKER_ADMIN_USERNAME"} <= set(env)
    assert not [
        c for c in api["spec"]["template"]["spec"]["containers"] if c["name"] == "supernode"
    ]


@pytest.mark.parametrize("example", SCALED_OUT, ids=lambda p: p.stem)
def test_nothing_scaled_out_sits_on_a_read_write_once_volume(example: Path) -> None:
    result = rendered(example)
    assert result.of_kind("PersistentVolumeClaim") == []
    assert "ReadWriteOnce" not in json.dumps(result.objects)
    assert [
        o
        for o in result.objects
        if o["kind"] == "StatefulSet" and "volumeClaimTemplates" in o["spec"]
    ] == []
    claims = {
        (obj["metadata"]["name"], v["persistentVolumeClaim"]["claimName"])
        for obj, spec in result.pod_specs()
        for v in spec.get("volumes", [])
        if "persistentVolumeClaim" in v
    }
    if result.service == "hub":
        assert claims == set()
    else:
        # Only the SuperNode's image store, on the operator's claim, outside the request path.
        supernode = result.values["flower"]["imageStore"]["existingClaim"]
        assert {claim for _, claim in claims} == {supernode}
        (holder,) = [name for name, _ in claims]
        assert holder.endswith("-supernode")
    for obj, spec in result.pod_specs():
        if obj["kind"] != "Job":
            data = next(v for v in spec["volumes"] if v["name"] == "data")
            assert data["emptyDir"]["sizeLimit"] == result.values["scaleOut"].get(
                "dataSizeLimit", "10Gi"
            )


def test_scaled_out_secrets_stay_in_secrets() -> None:
    """With the chart making the Secret, no secret value appears anywhere else in the render."""
    secrets = {
        "databaseUrl": "postgresql://yunfab:db-Secret-9f2@db.example.cn:5432/gd",
        "clientSecret": "client-Secret-41ad",
        "mqttPassword": "mqtt-Secret-77c1",
        "brokerAdminPassword": "admin-Secret-0be3",
        "s3SecretAccessKey": "s3-Secret-5e1d",
    }
    result = _render_scaled_out(
        **{f"secrets.{k}": v for k, v in secrets.items()}, **{"secrets.existingSecret": ""}
    )
    made = [
        s
        for s in result.of_kind("Secret")
        if s["metadata"]["name"] == "gd-injection-moulding-yunfab-node"
    ]
    assert len(made) == 1
    assert (
        base64.b64decode(made[0]["data"]["s3-secret-access-key"]).decode()
        == secrets["s3SecretAccessKey"]
    )
    others = [o for o in result.objects if o["kind"] != "Secret"]
    text = json.dumps(others)
    for value in secrets.values():
        assert value not in text
        assert base64.b64encode(value.encode()).decode() not in text
    for _, spec in result.pod_specs():
        for container in spec["containers"]:
            for item in container.get("env", []):
                if any(word in item["name"] for word in ("PASSWORD", "SECRET", "DATABASE_URL")):
                    if item["name"].endswith("_FILE"):
                        continue
                    assert "secretKeyRef" in item["valueFrom"], item["name"]


SCALE_OUT_REFUSALS = [
    ({"settings": {"blob_store": "filesystem"}}, "/settings/blob_store"),
    ({"settings": {"nats_url": None}}, "'nats_url'"),
    ({"mosquitto": {"enabled": True}}, "/mosquitto/enabled"),
    ({"alertSecretsKey": {"secretName": ""}}, "/alertSecretsKey/secretName"),
    ({"settings": {"mqtt_shared_group": None}}, "'mqtt_shared_group'"),
    ({"flower": {"imageStore": {"existingClaim": ""}}}, "/flower/imageStore/existingClaim"),
    ({"scaleOut": {"api": {"replicas": 1}}}, "/scaleOut/api/replicas"),
    (
        {"scaleOut": {"api": {"autoscaling": {"minReplicas": 1}}}},
        "/scaleOut/api/autoscaling/minReplicas",
    ),
]


@pytest.mark.parametrize(
    ("change", "complaint"),
    SCALE_OUT_REFUSALS,
    ids=[c.strip("'/").replace("/", ".") for _, c in SCALE_OUT_REFUSALS],
)
def test_the_schema_refuses_a_scale_out_without_its_engines(
    change: dict[str, Any], complaint: str
) -> None:
    """Scaled out, every replica must see the same files, events and jobs: a local blob store,
    no NATS, the chart's one-pod broker or a per-pod sealing key are refused before rendering."""
    values = helm.values_from_yaml(SCALED_OUT_NODES[0].read_text())

    def merge(into: dict[str, Any], update: dict[str, Any]) -> None:
        for key, value in update.items():
            if isinstance(value, dict):
                merge(into.setdefault(key, {}), value)
            elif value is None:
                into.pop(key, None)
            else:
                into[key] = value

    with helm.Chart.load(CHARTS["node"]) as chart:
        chart.validate_schema(chart.merge_values(values))  # the example itself passes
        merge(values, change)
        with pytest.raises(helm.HelmValuesError) as error:
            chart.validate_schema(chart.merge_values(values))
    assert complaint in str(error.value)


def test_the_embedded_profile_stays_one_pod_on_its_volume() -> None:
    """The default: one replica replaced with Recreate on a ReadWriteOnce claim, the consumer
    and the SuperNode in the node's pod, no autoscaler, budget, worker or consumer processes."""
    result = rendered(HELM / "ci" / "single-region-node-zj-textile-values.yaml")
    defaults = helm.values_from_yaml((CHARTS["node"] / "values.yaml").read_text())
    assert defaults["scaleOut"]["enabled"] is False
    api = _workload(result, "Deployment", ["node", "serve"])
    assert api["spec"]["replicas"] == 1
    assert api["spec"]["strategy"] == {"type": "Recreate"}
    claims = {c["metadata"]["name"]: c for c in result.of_kind("PersistentVolumeClaim")}
    data = claims[f"{api['metadata']['name']}-data"]
    assert data["spec"]["accessModes"] == ["ReadWriteOnce"]
    names = {c["name"] for c in api["spec"]["template"]["spec"]["containers"]}
    assert {"node", "supernode"} <= names
    (node,) = [c for c in api["spec"]["template"]["spec"]["containers"] if c["name"] == "node"]
    assert "YUNFAB_NODE_MQTT_URL" in {e["name"] for e in node["env"]}
    for kind in ("HorizontalPodAutoscaler", "PodDisruptionBudget", "StatefulSet"):
        assert result.of_kind(kind) == []
    assert [d["metadata"]["name"] for d in result.of_kind("Deployment")] == [
        api["metadata"]["name"],
        f"{api['metadata']['name']}-mosquitto",
    ]


@pytest.mark.parametrize(
    "example", [e for e in examples_of("hub") if e not in SCALED_OUT], ids=lambda p: p.stem
)
def test_a_hub_on_nats_runs_a_worker_for_its_jobs(example: Path) -> None:
    """With nats_url the hub's jobs (federated runs) wait in a NATS work queue for `yunfab hub
    worker`: the chart runs one in the hub's pod, on the same data folder as the API (scaled
    out, Deployments of their own: see test_the_scaled_out_hub_runs_workers_and_a_superlink)."""
    result = rendered(example)
    (deployment,) = result.of_kind("Deployment")
    spec = deployment["spec"]["template"]["spec"]
    workers = [c for c in spec["containers"] if c.get("args") == ["hub", "worker"]]
    nats = result.values["settings"].get("nats_url")
    if not nats:
        assert workers == []
        return
    (worker,) = workers
    (hub,) = [c for c in spec["containers"] if c["name"] == "hub"]
    env = {e["name"]: e.get("value") for e in worker["env"]}
    assert env["YUNFAB_HUB_NATS_URL"] == nats
    assert (
        env["YUNFAB_HUB_FLOWER_SUPERLINK"]
        == {e["name"]: e.get("value") for e in hub["env"]}["YUNFAB_HUB_FLOWER_SUPERLINK"]
    )

    def data(container: dict[str, Any]) -> str:
        return next(
            m["name"] for m in container["volumeMounts"] if m["mountPath"] == "/var/lib/yunfab"
        )

    assert data(worker) == data(hub) == "data"


# --- The hub scaled out ----------------------------------------------------------------------


def test_the_scaled_out_hub_runs_workers_and_a_superlink_of_their_own() -> None:
    """Workers of their own follow the federated runs; the SuperLink is one pod of its own with
    its state in memory (no --database, no claim), which every hub process dials through its
    Service; the runs' outputs reach the hub through its bucket, with the hub's S3 key."""
    result = _render_scaled("hub", {})
    values = result.values
    api = _workload(result, "Deployment", ["hub", "serve"])
    api_spec = api["spec"]["template"]["spec"]
    assert {c["name"] for c in api_spec["containers"]} == {"hub", "opa"}
    worker = _workload(result, "Deployment", ["hub", "worker"])
    assert worker["spec"]["replicas"] == values["scaleOut"]["worker"]["replicas"]
    assert worker["spec"]["strategy"]["type"] == "RollingUpdate"
    address = f"yunfab-hub-flower:{values['flower'].get('port', 9092)}"
    for workload in (api, worker):
        spec = workload["spec"]["template"]["spec"]
        (app,) = [c for c in spec["containers"] if c["args"][0] == "hub"]
        env = {e["name"]: e for e in app["env"]}
        assert env["YUNFAB_HUB_NATS_URL"]["value"] == values["settings"]["nats_url"]
        assert env["YUNFAB_HUB_BLOB_STORE"]["value"] == "s3"
        assert env["YUNFAB_HUB_FLOWER_SUPERLINK"]["value"] == address
        assert mounted_file(spec, app, env["YUNFAB_HUB_FLOWER_ROOT_CERTIFICATES"]["value"])
        assert not mounted_file(spec, app, "/etc/yunfab/flower-tls/tls.key")
        assert env["YUNFAB_HUB_S3_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]["key"] == (
            "s3-secret-access-key"
        )

    (link_workload,) = [
        d
        for d in result.of_kind("Deployment")
        if any(c["name"] == "superlink" for c in d["spec"]["template"]["spec"]["containers"])
    ]
    assert link_workload["spec"]["replicas"] == 1
    assert link_workload["spec"]["strategy"] == {"type": "Recreate"}
    spec = link_workload["spec"]["template"]["spec"]
    (link,) = spec["containers"]
    tls = deploy.ServerTls(
        Path("/etc/yunfab/flower-tls/ca.crt"),
        Path("/etc/yunfab/flower-tls/tls.crt"),
        Path("/etc/yunfab/flower-tls/tls.key"),
    )
    expected = deploy.superlink_argv(
        port=values["flower"].get("port", 9092), host="0.0.0.0", tls=tls, supernode_auth=True
    )
    assert link["args"][:-2] == expected[1:]
    assert "--database" not in link["args"]
    assert "persistentVolumeClaim" not in json.dumps(spec["volumes"])
    env = {e["name"]: e for e in link["env"]}
    assert env["AWS_ACCESS_KEY_ID"]["value"] == values["settings"]["s3_access_key_id"]
    assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]["key"] == (
        "s3-secret-access-key"
    )
    service = result.named("Service", "yunfab-hub-flower")
    assert service is not None
    assert _selects({"matchLabels": service["spec"]["selector"]}, link_workload)
    assert not _selects({"matchLabels": service["spec"]["selector"]}, api)
    policies = [
        p
        for p in result.of_kind("NetworkPolicy")
        if _selects(p["spec"]["podSelector"], link_workload)
    ]
    assert [
        [port["port"] for port in r["ports"]] for p in policies for r in p["spec"]["ingress"]
    ] == [["flower"]]


HUB_SCALE_OUT_REFUSALS = [
    ({"settings": {"blob_store": "filesystem"}}, "/settings/blob_store"),
    ({"settings": {"nats_url": None}}, "'nats_url'"),
    ({"settings": {"s3_bucket": None}}, "'s3_bucket'"),
    ({"scaleOut": {"api": {"replicas": 1}}}, "/scaleOut/api/replicas"),
]


@pytest.mark.parametrize(
    ("change", "complaint"),
    HUB_SCALE_OUT_REFUSALS,
    ids=[c.strip("'/").replace("/", ".") for _, c in HUB_SCALE_OUT_REFUSALS],
)
def test_the_hub_schema_refuses_a_scale_out_without_nats_or_s3(
    change: dict[str, Any], complaint: str
) -> None:
    (example,) = [e for e in SCALED_OUT if service_of(e) == "hub"]
    values = helm.values_from_yaml(example.read_text())

    def merge(into: dict[str, Any], update: dict[str, Any]) -> None:
        for key, value in update.items():
            if isinstance(value, dict):
                merge(into.setdefault(key, {}), value)
            elif value is None:
                into.pop(key, None)
            else:
                into[key] = value

    with helm.Chart.load(CHARTS["hub"]) as chart:
        chart.validate_schema(chart.merge_values(values))  # the example itself passes
        merge(values, change)
        with pytest.raises(helm.HelmValuesError) as error:
            chart.validate_schema(chart.merge_values(values))
    assert complaint in str(error.value)


def test_the_hub_embedded_profile_stays_one_pod_on_its_volume() -> None:
    """The default: one hub pod replaced with Recreate on a ReadWriteOnce claim, the SuperLink
    in it on that volume, no autoscaler, budget or worker Deployment."""
    defaults = helm.values_from_yaml((CHARTS["hub"] / "values.yaml").read_text())
    assert defaults["scaleOut"]["enabled"] is False
    result = rendered(HELM / "ci" / "single-region-hub-values.yaml")
    (api,) = result.of_kind("Deployment")
    assert api["spec"]["replicas"] == 1
    assert api["spec"]["strategy"] == {"type": "Recreate"}
    (claim,) = result.of_kind("PersistentVolumeClaim")
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    names = {c["name"] for c in api["spec"]["template"]["spec"]["containers"]}
    assert {"hub", "superlink"} <= names
    for kind in ("HorizontalPodAutoscaler", "PodDisruptionBudget"):
        assert result.of_kind(kind) == []
