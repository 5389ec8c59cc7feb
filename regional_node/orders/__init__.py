"""Orders, routings, cloud-factory plans, work orders and progress."""
