"""The node's link to the hub: registration, heartbeats, and (from #3) credentials."""
