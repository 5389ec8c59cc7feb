"""The node's side of the hub's knowledge and app market (issue #9): installations the hub
approved are downloaded, verified offline against cached trust roots, and activated; revoked
or removed ones are disabled again."""
