"""Knowledge and app market: listings, signed releases, entitlements, installations (issue #9)."""
