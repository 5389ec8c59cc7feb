"""Read models: views across domains (a factory's evaluation reads its devices, alerts, work orders
and telemetry). They sit above the domains they read; no domain imports them."""
