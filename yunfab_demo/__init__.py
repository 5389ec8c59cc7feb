"""Demo-only tooling: seeded instances, synthetic images, the factory simulator and a managed
Mosquitto. Nothing at runtime imports it; the demo and the tests do."""
