"""Plain HTTP routes beside GraphQL: export downloads, and what requests have in common."""
