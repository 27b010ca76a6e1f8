"""Adapters that drive the application: the GraphQL API and the HTTP routes around it."""
