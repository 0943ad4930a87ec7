"""Core tests reuse the bridge tests' parser-writing and fast-guest fixtures."""

from tests.bridge.conftest import fast_settings, write_parser

__all__ = ["fast_settings", "write_parser"]
