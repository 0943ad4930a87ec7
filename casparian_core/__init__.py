"""Casparian Flow's engine: scanning, parsers, validation, sinks, queue. Never imports Textual."""

__version__ = "0.1.0"
