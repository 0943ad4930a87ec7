"""The parser registry: registered parser artifacts, their contracts, and the managed
environments they run in (DESIGN.md §5-§7, issue 15)."""
