"""The audit log's domain: entries, plans, retention and tenancy. Standard library only."""
