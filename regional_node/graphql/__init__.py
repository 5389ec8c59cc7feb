"""The node's GraphQL API: each domain contributes its queries, mutations and subscriptions."""
