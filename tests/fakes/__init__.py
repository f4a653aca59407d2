"""Loopback fakes for services that cannot run on this machine (Loki, Tempo, Jaeger), and shared test data.

Each fake is a real HTTP server (stdlib ``http.server`` in a thread, bound to 127.0.0.1 on a free port)
speaking the service's documented JSON wire format, backed by the demo world's logs and traces.
"""
