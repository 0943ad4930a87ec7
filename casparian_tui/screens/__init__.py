"""One screen per mode, plus overlays."""
