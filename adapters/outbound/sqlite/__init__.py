"""SQLite on the standard library: the embedded store behind the same ports as MongoDB."""
