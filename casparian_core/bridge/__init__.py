"""The bridge: a host that runs parsers in guest subprocesses and streams Arrow data over ZeroMQ.

Keep this file free of imports: the guest shim runs from this folder under any Python.
"""
