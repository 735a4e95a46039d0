"""Numbered SQL migration files (data, loaded by aurora.collector.store.migrate)."""
