"""What the logs and traces backends share: the frame conventions, OTLP/JSON, and one small HTTP client.

* :mod:`.frames`  the column conventions of log and span frames (``LOG_COLUMNS``, ``SPAN_COLUMNS``) and the
  one place that turns rows into those frames (UTC timestamps, normalised levels and ids);
* :mod:`.otlp`    OTLP/JSON (``resourceLogs`` / ``resourceSpans``) to rows and back;
* :mod:`.http`    a JSON-over-HTTP client for Loki, Tempo, Jaeger and Alertmanager with the promv5 error mapping.

The backends themselves live in :mod:`promv5_lab.backends.logs` and :mod:`promv5_lab.backends.traces`.
"""
