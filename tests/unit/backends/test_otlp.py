"""OTLP/JSON decoding, from documents written as the spec's JSON mapping says (hex ids, unixNano strings).

Reference: https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding
"""

from __future__ import annotations

import pytest

from promv5_lab.backends.signals.frames import logs_frame, normalize_id, spans_frame
from promv5_lab.backends.signals.otlp import any_value, log_rows, span_rows
from promv5_lab.errors import InputError

TRACES = {"resourceSpans": [{
    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}}]},
    "scopeSpans": [{"scope": {"name": "x"}, "spans": [
        {"traceId": "5B8EFFF798038103D269B633813FC60C", "spanId": "EEE19B7EC3C1B174", "parentSpanId": "",
         "name": "POST /checkout", "kind": 2, "startTimeUnixNano": "1544712660000000000",
         "endTimeUnixNano": "1544712661500000000",
         "attributes": [{"key": "http.status_code", "value": {"intValue": "500"}},
                        {"key": "retry", "value": {"boolValue": True}}],
         "status": {"code": 2, "message": "pool exhausted"}},
        {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b175",
         "parentSpanId": "eee19b7ec3c1b174", "name": "SELECT", "kind": "SPAN_KIND_CLIENT",
         "startTimeUnixNano": "1544712660100000000", "endTimeUnixNano": "1544712660100250000",
         "status": {}}]}]}]}

LOGS = {"resourceLogs": [{
    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "cart"}},
                                {"key": "host.name", "value": {"stringValue": "node-2"}}]},
    "scopeLogs": [{"logRecords": [
        {"timeUnixNano": "1544712660300000000", "severityNumber": 17, "body": {"stringValue": "boom"},
         "traceId": "5b8efff798038103d269b633813fc60c"},
        {"timeUnixNano": "0", "observedTimeUnixNano": "1544712660000000000", "severityText": "Warning",
         "body": {"kvlistValue": {"values": [{"key": "a", "value": {"doubleValue": 1.5}}]}}}]}]}]}


def test_spans_decode():
    frame = spans_frame(span_rows(TRACES))
    root, child = frame.iloc[0], frame.iloc[1]
    assert root.trace_id == "5b8efff798038103d269b633813fc60c" and root.span_id == "eee19b7ec3c1b174"
    assert root.parent_span_id is None and child.parent_span_id == "eee19b7ec3c1b174"
    assert (root.kind, child.kind) == ("SERVER", "CLIENT")
    assert root.duration_ms == 1500.0 and child.duration_ms == pytest.approx(0.25)
    assert (root.status, child.status) == ("ERROR", "OK")
    assert root.attributes == {"http.status_code": 500, "retry": True, "error": "pool exhausted"}
    assert root.start.isoformat() == "2018-12-13T14:51:00+00:00"


def test_logs_decode():
    frame = logs_frame(log_rows(LOGS))
    assert frame["level"].tolist() == ["WARN", "ERROR"]  # sorted by time; observed time used when time is 0
    assert frame["message"].tolist() == ['{"a": 1.5}', "boom"]
    assert frame["node"].tolist() == ["node-2", "node-2"] and frame["trace_id"].tolist()[1].startswith("5b8e")


@pytest.mark.parametrize("raw, want", [
    ("AAAAAAAAAABhZnWDH9OW4g==", "0000000000000000616675831fd396e2"),
    ("EEE19B7EC3C1B174", "eee19b7ec3c1b174"),
    ("abc", "0000000000000abc"),
    (None, ""),
])
def test_ids(raw, want):
    assert normalize_id(raw) == want


def test_bad_id_and_values():
    with pytest.raises(InputError, match="neither hex nor base64"):
        normalize_id("not-an-id!")
    assert any_value({"arrayValue": {"values": [{"intValue": "1"}, {"stringValue": "x"}]}}) == [1, "x"]
