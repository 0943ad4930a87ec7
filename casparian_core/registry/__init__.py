"""The parser registry: parsers promoted to immutable, reproducible production artifacts."""
