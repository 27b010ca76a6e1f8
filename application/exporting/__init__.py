"""Export: one-time signed links, the download stream and its signed trailer."""
