"""Tamper evidence: sealing windows of entries, and verifying seals online and offline."""
