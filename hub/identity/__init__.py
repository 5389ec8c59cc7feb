"""Identity: users, API clients, signing keys, the OAuth2 authorization server, token checks."""
