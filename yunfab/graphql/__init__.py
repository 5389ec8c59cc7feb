"""The GraphQL layer both services share: HTTP behaviour, limits, error codes, pagination."""
