"""The hub's GraphQL API: each domain contributes its queries, mutations and subscriptions."""
