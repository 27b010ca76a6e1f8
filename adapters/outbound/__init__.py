"""Adapters the application drives: the stores, the clock, ids, keys, links, the HTTP sink."""
