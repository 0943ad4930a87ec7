"""The parser registry: parsers promoted to immutable, reproducible artifacts (DESIGN §5-§7)."""
