"""Data exchange: catalog, offers with usage policies, contracts, governed queries (issue #8)."""
