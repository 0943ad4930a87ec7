"""Inspect: read-only looks at the home's outputs (DuckDB over the Parquet tables)."""
