"""Device telemetry: MQTT (plain JSON and Sparkplug B) and HTTP ingest, storage, alerts."""
