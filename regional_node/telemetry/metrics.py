"""Prometheus counters of ingest, served at the node's `/metrics`.

Each app has its own registry (tests run many apps in one process; a global registry would
mix their counts and refuse duplicate names).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self.messages = Counter(
            "yunfab_ingest_messages",
            "Device messages received, by transport.",
            ["source"],
            registry=self.registry,
        )
        self.readings = Counter(
            "yunfab_ingest_readings",
            "Readings written (accepted) or dropped as already stored (duplicate).",
            ["outcome"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "yunfab_ingest_rejected",
            "Readings or messages refused, by reason (each also a dead letter).",
            ["reason"],
            registry=self.registry,
        )
        self.dead_letters = Counter(
            "yunfab_ingest_dead_letters",
            "Dead-letter records written.",
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "yunfab_ingest_batch_seconds",
            "Time to commit one ingest batch.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.mqtt_connected = Gauge(
            "yunfab_ingest_mqtt_connected",
            "1 while the MQTT consumer is connected to the broker.",
            registry=self.registry,
        )
        self.sparkplug_rebirths = Counter(
            "yunfab_ingest_sparkplug_rebirth_requests",
            "Rebirth commands sent to Sparkplug edge nodes (sequence gaps, unknown aliases).",
            registry=self.registry,
        )
        self.alerts_opened = Counter(
            "yunfab_alerts_opened",
            "Alerts opened, by rule kind.",
            ["kind"],
            registry=self.registry,
        )
