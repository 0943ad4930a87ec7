"""Casparian Flow's terminal app. It talks to the core only through CoreService."""
