"""Units of a PromQL result, read from its metric names and functions, and numbers written with them.

Pure functions (no backend, no third-party import), used by every surface that shows a number or a chart::

    unit = infer_unit('histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))')
    unit.label                          -> "s"
    format_value(0.2345, unit)          -> "235 ms"
    format_value(1.2 * 2**30, infer_unit("node_memory_MemAvailable_bytes"))  -> "1.2 GiB"
    infer_unit("rate(http_requests_total[5m])").label                        -> "req/s"
    axis_scale(unit, 0.4)               -> (1000.0, "ms")   # multiply values by 1000, label the axis "ms"

The unit follows Prometheus' naming conventions (``_seconds``, ``_bytes``, ``_ratio``, ``_percent``,
``_total``...) through the expression: ``rate`` makes a per-second rate, ``histogram_quantile`` keeps the
bucket's unit, a quotient of two like quantities is a ratio (shown in %), ``x_sum / x_count`` keeps ``x``'s
unit, ``ratio * 100`` is a percentage. Anything it cannot read is unitless (plain numbers), never an error.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

__all__ = ["DATA_UNIT_WORDS", "FREQUENCY_UNIT_WORDS", "NAME_UNIT_WORDS", "POWER_UNIT_WORDS", "TIME_UNIT_WORDS", "Unit", "axis_scale", "format_duration",
           "format_value", "infer_unit", "unit_of_metric", "unit_word"]

# ---- unit words: one table for every reader (a question's "in GB" / "above 100ms", a metric's own unit) ----
DATA_UNIT_WORDS: dict[str, float] = {  # bytes in one unit
    "b": 1.0, "byte": 1.0, "bytes": 1.0, "kb": 1e3, "kilobyte": 1e3, "kilobytes": 1e3, "mb": 1e6, "megabyte": 1e6,
    "megabytes": 1e6, "gb": 1e9, "gigabyte": 1e9, "gigabytes": 1e9, "tb": 1e12, "terabyte": 1e12,
    "terabytes": 1e12, "kib": 2.0 ** 10, "mib": 2.0 ** 20, "gib": 2.0 ** 30, "tib": 2.0 ** 40,
    "kibibytes": 2.0 ** 10, "mebibytes": 2.0 ** 20, "gibibytes": 2.0 ** 30}
TIME_UNIT_WORDS: dict[str, float] = {  # seconds in one unit
    "ms": 1e-3, "millisecond": 1e-3, "milliseconds": 1e-3, "msec": 1e-3, "us": 1e-6, "microseconds": 1e-6,
    "seconds": 1.0, "secs": 1.0, "minutes": 60.0, "mins": 60.0, "hours": 3600.0, "hrs": 3600.0, "days": 86400.0,
    "ns": 1e-9, "nanoseconds": 1e-9}
POWER_UNIT_WORDS: dict[str, float] = {  # watts in one unit
    "watts": 1.0, "watt": 1.0, "kilowatts": 1e3, "kilowatt": 1e3, "kw": 1e3, "megawatts": 1e6, "mw": 1e6}
FREQUENCY_UNIT_WORDS: dict[str, float] = {  # hertz in one unit
    "hz": 1.0, "hertz": 1.0, "khz": 1e3, "mhz": 1e6, "megahertz": 1e6, "ghz": 1e9, "gigahertz": 1e9}
# a unit word inside a metric name (``x_latency_ms``, ``x_kbytes_total``) -> (kind, size in bytes or seconds)
NAME_UNIT_WORDS: dict[str, tuple[str, float]] = {
    "bytes": ("data", 1.0), "byte": ("data", 1.0), "octets": ("data", 1.0), "kbytes": ("data", 1024.0),
    "seconds": ("time", 1.0), "milliseconds": ("time", 1e-3), "ms": ("time", 1e-3), "microseconds": ("time", 1e-6),
    "us": ("time", 1e-6), "minutes": ("time", 60.0), "nanoseconds": ("time", 1e-9), "ns": ("time", 1e-9),
    "watts": ("power", 1.0), "watt": ("power", 1.0), "w": ("power", 1.0), "hz": ("frequency", 1.0), "hertz": ("frequency", 1.0),
    "mhz": ("frequency", 1e6), "kb": ("data", 1024.0), "kib": ("data", 1024.0), "mib": ("data", 2.0 ** 20)}
# a metric's own "KB" (a name's ``_kb``, HELP's "in KB") is the kibibyte of /proc and Windows counters; a question's
# "in KB" keeps its SI reading (DATA_UNIT_WORDS)


def unit_word(word: str) -> tuple[str, float] | None:
    """``("data", bytes)``, ``("time", seconds)``, ``("power", watts)`` or ``("frequency", hertz)`` for a unit word
    ("GiB", "ms", "minutes", "kW", "MHz"), else None."""
    w = word.lower()
    if w in POWER_UNIT_WORDS:
        return "power", POWER_UNIT_WORDS[w]
    if w in FREQUENCY_UNIT_WORDS:
        return "frequency", FREQUENCY_UNIT_WORDS[w]
    if w in DATA_UNIT_WORDS:
        return "data", DATA_UNIT_WORDS[w]
    if w in TIME_UNIT_WORDS:
        return "time", TIME_UNIT_WORDS[w]
    return None


@dataclass(frozen=True)
class Unit:
    """``base``: seconds, bytes, bits, ratio, percent, celsius, requests, count, or "" (a plain number);
    ``per_second``: a rate of it; ``cpu``: CPU seconds (their rate is in cores)."""

    base: str = ""
    per_second: bool = False
    cpu: bool = False
    scalar: float | None = None  # a number literal in the expression (internal)

    @property
    def label(self) -> str:
        """The unit as an axis label: ``s``, ``B``, ``%``, ``req/s``, ``B/s``, ``cores``, ``/s`` or ``""``."""
        if self.per_second:
            if self.base == "seconds":
                return "cores" if self.cpu else "s/s"
            return {"bytes": "B/s", "bits": "bit/s", "requests": "req/s", "count": "/s"}.get(self.base, "/s")
        return {"seconds": "s", "bytes": "B", "bits": "bit", "ratio": "%", "percent": "%", "celsius": "°C",
                "requests": "requests"}.get(self.base, "")

    @property
    def raw_label(self) -> str:
        """The label of an axis that shows the values as they are (unscaled): a ratio is ``ratio (0-1)``."""
        if self.base == "ratio" and not self.per_second:
            return "ratio (0-1)"
        if self.base in ("milli", "micro"):
            return "ms" if self.base == "milli" else "µs"
        return self.label


NONE = Unit()
_SUFFIXES = (("_seconds", "seconds"), ("_bytes", "bytes"), ("_bits", "bits"), ("_ratio", "ratio"),
             ("_percent", "percent"), ("_percentage", "percent"), ("_celsius", "celsius"))
_SCALED = (("_milliseconds", 1e-3), ("_ms", 1e-3), ("_microseconds", 1e-6))


def unit_of_metric(name: str) -> Unit:
    """The unit of one metric name (``_total``, ``_bucket``, ``_sum``, ``_count`` suffixes understood)."""
    n = name.lower()
    if n.endswith("_count"):
        return Unit("count")
    for suffix in ("_total", "_bucket", "_sum", "_created"):
        if n.endswith(suffix):
            n = n[: -len(suffix)]
            break
    cpu = "cpu" in n
    for suffix, base in _SUFFIXES:
        if n.endswith(suffix):
            return Unit(base, cpu=cpu and base == "seconds")
    for suffix, _factor in _SCALED:
        if n.endswith(suffix):
            return Unit("milli" if _factor == 1e-3 else "micro")
    if name.lower().endswith("_total"):
        return Unit("requests" if "request" in n else "count")
    return NONE


# ---- a small PromQL reader that returns the unit of each sub-expression ------------------------------------

_TOKEN = re.compile(r"""
    (?P<ws>\s+) | (?P<str>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`) |
    (?P<num>0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?![a-zA-Z_])) |
    (?P<dur>\d+(?:ms|[smhdwy])(?:\d+(?:ms|[smhdwy]))*) |
    (?P<id>[a-zA-Z_:][a-zA-Z0-9_:]*) | (?P<op>==|!=|>=|<=|=~|!~|[-+*/%^<>=(){}\[\],:@])
""", re.VERBOSE)
_PREC = {"or": 1, "and": 2, "unless": 2, "==": 3, "!=": 3, ">": 3, "<": 3, ">=": 3, "<=": 3, "+": 4, "-": 4,
         "*": 5, "/": 5, "%": 5, "atan2": 5, "^": 6}
_AGG = {"sum", "avg", "min", "max", "stddev", "stdvar", "count", "count_values", "group", "topk", "bottomk",
        "quantile", "limitk", "limit_ratio"}
_UNITLESS_AGG = {"count", "count_values", "group"}
_RATE = {"rate", "irate", "deriv"}
_UNITLESS_FN = {"count_over_time", "changes", "resets", "absent", "absent_over_time", "present_over_time",
                "timestamp", "time", "vector", "day_of_month", "day_of_week", "day_of_year", "days_in_month",
                "hour", "minute", "month", "year", "sgn", "ln", "log2", "log10", "exp", "histogram_count"}
_COUNTS = {"count", "requests"}


class _Reader:
    def __init__(self, text: str) -> None:
        self.toks: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None:
                raise ValueError(f"cannot read {text[pos:pos + 10]!r}")
            pos = m.end()
            if m.lastgroup != "ws":
                self.toks.append((m.lastgroup or "", m.group()))
        self.i = 0

    def peek(self, k: int = 0) -> tuple[str, str]:
        return self.toks[self.i + k] if self.i + k < len(self.toks) else ("end", "")

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        self.i += 1
        return tok

    def skip_group(self, open_: str, close: str) -> None:
        depth = 0
        while True:
            kind, val = self.take()
            if kind == "end":
                return
            if kind == "op" and val == open_:
                depth += 1
            elif kind == "op" and val == close:
                depth -= 1
                if depth == 0:
                    return

    def expr(self, min_prec: int = 0) -> Unit:
        left = self.unary()
        while True:
            kind, val = self.peek()
            op = val.lower() if kind in ("op", "id") else ""
            prec = _PREC.get(op)
            if prec is None or prec < min_prec or (kind == "id" and op not in ("and", "or", "unless", "atan2")):
                return left
            self.take()
            is_bool = False
            while self.peek()[0] == "id" and self.peek()[1].lower() in ("bool", "on", "ignoring", "group_left",
                                                                          "group_right"):
                is_bool |= self.take()[1].lower() == "bool"
                if self.peek() == ("op", "("):
                    self.skip_group("(", ")")
            right = self.expr(prec if op == "^" else prec + 1)
            left = _binary(op, left, right, is_bool)

    def unary(self) -> Unit:
        if self.peek() in (("op", "-"), ("op", "+")):
            sign = self.take()[1]
            u = self.unary()
            return replace(u, scalar=-u.scalar) if sign == "-" and u.scalar is not None else u
        return self.postfix(self.primary())

    def postfix(self, u: Unit) -> Unit:
        while True:
            kind, val = self.peek()
            if kind == "op" and val == "[":
                self.skip_group("[", "]")
            elif kind == "id" and val.lower() == "offset":
                self.take()
                if self.peek() == ("op", "-"):
                    self.take()
                self.take()
            elif kind == "op" and val == "@":
                self.take()
                if self.peek()[0] == "id" and self.peek(1) == ("op", "("):
                    self.take()
                    self.skip_group("(", ")")
                else:
                    self.take()
            else:
                return u

    def args(self) -> list[Unit]:
        out: list[Unit] = []
        if self.take() != ("op", "("):
            raise ValueError("expected (")
        if self.peek() == ("op", ")"):
            self.take()
            return out
        while True:
            out.append(self.expr())
            val = self.take()[1]
            if val == ")":
                return out
            if val != ",":
                raise ValueError(f"unexpected {val!r}")

    def primary(self) -> Unit:
        kind, val = self.take()
        if kind == "num":
            return Unit(scalar=float(int(val, 16)) if val.lower().startswith("0x") else float(val))
        if kind == "str":
            return NONE
        if kind == "op" and val == "(":
            u = self.expr()
            self.take()  # ")"
            return u
        if kind == "op" and val == "{":
            self.i -= 1
            self.skip_group("{", "}")
            return NONE
        if kind != "id":
            raise ValueError(f"unexpected {val!r}")
        name = val.lower()
        if name in ("inf", "nan"):
            return Unit(scalar=float(name))
        if name in _AGG and (self.peek() == ("op", "(") or self.peek()[1].lower() in ("by", "without")):
            return self.aggregation(name)
        if self.peek() == ("op", "("):
            return _function(name, self.args())
        if self.peek() == ("op", "{"):
            self.skip_group("{", "}")
        return unit_of_metric(val)

    def aggregation(self, name: str) -> Unit:
        if self.peek()[1].lower() in ("by", "without"):
            self.take()
            self.skip_group("(", ")")
        args = self.args()
        if self.peek()[1].lower() in ("by", "without"):
            self.take()
            self.skip_group("(", ")")
        if name in _UNITLESS_AGG or not args:
            return NONE
        return args[-1]


def _function(name: str, args: list[Unit]) -> Unit:
    if name in _UNITLESS_FN or not args:
        return NONE
    if name in _RATE:
        return replace(args[0], per_second=True)
    if name in ("increase", "delta", "idelta"):
        return replace(args[0], per_second=False)
    if name == "histogram_quantile":
        return replace(args[-1], per_second=False)
    if name == "histogram_fraction":
        return Unit("ratio")
    if name in ("quantile_over_time", "label_replace", "label_join", "clamp", "clamp_min", "clamp_max", "round",
                "predict_linear", "holt_winters", "double_exponential_smoothing", "sort_by_label",
                "sort_by_label_desc", "scalar"):
        # the value argument: first for most, second for quantile_over_time
        return args[1] if name == "quantile_over_time" and len(args) > 1 else args[0]
    return args[0]


def _binary(op: str, left: Unit, right: Unit, is_bool: bool) -> Unit:
    if left.scalar is not None and right.scalar is not None:
        return Unit(scalar=_arith(op, left.scalar, right.scalar))
    if op in ("==", "!=", ">", "<", ">=", "<="):
        return NONE if is_bool else (right if left.scalar is not None else left)
    if op in ("and", "unless"):
        return left
    if op == "or":
        return left if left != NONE else right
    if op in ("+", "-"):
        return _plain(right) if left.scalar is not None else _plain(left)
    if op == "*":
        if right.scalar is not None or left.scalar is not None:
            unit, k = (left, right.scalar) if right.scalar is not None else (right, left.scalar)
            return Unit("percent") if unit.base == "ratio" and k == 100 else _plain(unit)
        if left.base == "ratio":
            return _plain(right)
        return _plain(left)
    if op == "/":
        if right.scalar is not None:
            return _plain(left)
        if left.scalar is not None:
            return NONE
        lb = "count" if left.base in _COUNTS else left.base
        rb = "count" if right.base in _COUNTS else right.base
        if lb == rb and left.per_second == right.per_second:
            return Unit("ratio")
        if rb == "count" and left.per_second == right.per_second:
            return Unit(left.base, cpu=left.cpu)  # x_sum / x_count: the mean keeps x's unit
        if right.base == "seconds" and not right.per_second and not left.per_second and left.base:
            return Unit(left.base, per_second=True)
        return NONE
    return _plain(left)


def _plain(u: Unit) -> Unit:
    return replace(u, scalar=None) if u.scalar is not None else u


def _arith(op: str, a: float, b: float) -> float | None:
    try:
        return {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else math.nan, "^": a ** b}.get(op)
    except (OverflowError, ZeroDivisionError):
        return None


def infer_unit(promql: str | None) -> Unit:
    """The unit of ``promql``'s result (a metric name is PromQL too). Unitless when it cannot tell."""
    if not promql:
        return NONE
    try:
        reader = _Reader(str(promql))
        u = reader.expr()
    except (ValueError, IndexError, RecursionError):
        return NONE
    return _plain(u)  # "milli"/"micro": seconds scaled by 1e-3/1e-6 (written as seconds)


# ---- writing numbers -----------------------------------------------------------------------------------

def _sig(v: float, digits: int = 3, size: float = 1.0) -> str:
    """``v / size`` to ``digits`` significant digits, rounded half up on the decimal text (0.2345 s is 235 ms,
    not 234 as binary floating point would have it), trailing zeros dropped."""
    if v == 0:
        return "0"
    d = Decimal(repr(float(v))) / Decimal(repr(float(size)))
    exp = d.adjusted() - digits + 1
    q = d.quantize(Decimal(1).scaleb(exp), rounding=ROUND_HALF_UP)
    text = f"{q:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


_IEC = (("Pi", 2.0**50), ("Ti", 2.0**40), ("Gi", 2.0**30), ("Mi", 2.0**20), ("Ki", 2.0**10))
_SI = (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3))


def format_duration(seconds: float) -> str:
    """``0.2345`` -> ``235 ms``; ``90`` -> ``1.5 min``; ``7200`` -> ``2 h``; ``302400`` -> ``3.5 d``."""
    a = abs(seconds)
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0), ("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if a >= size * 0.9995:
            return f"{_sig(seconds, size=size)} {unit}"
    return f"{_sig(seconds, size=1e-9)} ns" if a else "0 s"


def _scaled(v: float, table: tuple[tuple[str, float], ...], unit: str, sep: str = " ") -> str:
    for prefix, size in table:
        if abs(v) >= size * 0.9995:
            return f"{_sig(v, size=size)}{sep}{prefix}{unit}"
    return f"{_sig(v)}{sep}{unit}".rstrip()


def format_value(v: float, unit: Unit | str | None = None) -> str:
    """``v`` written with its unit (a :class:`Unit`, or PromQL to infer it from)."""
    u = unit if isinstance(unit, Unit) else infer_unit(unit)
    try:
        v = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(v):
        return str(v)
    if u.base in ("milli", "micro"):
        u, v = replace(u, base="seconds"), v * (1e-3 if u.base == "milli" else 1e-6)
    if u.per_second:
        if u.base == "bytes":
            return _scaled(v, _IEC, "B/s")
        if u.base == "seconds":
            return f"{_sig(v)} {'cores' if u.cpu else 's/s'}"
        return f"{_scaled(v, _SI, '', sep='')} {u.label}"
    if u.base == "seconds":
        return format_duration(v)
    if u.base == "bytes":
        return _scaled(v, _IEC, "B")
    if u.base == "ratio":
        return f"{_sig(v * 100)}%"
    if u.base == "percent":
        return f"{_sig(v)}%"
    if u.base == "celsius":
        return f"{_sig(v)} °C"
    if u.base == "bits":
        return _scaled(v, _SI, "bit")
    return _scaled(v, _SI, "", sep="") if abs(v) >= 1e4 else _sig(v, 4)


def axis_scale(unit: Unit | str | None, max_abs: float) -> tuple[float, str]:
    """``(factor, label)``: multiply a chart's values by ``factor`` and label its y axis ``label``.

    Seconds pick ms/s/min/h by the largest value, bytes an IEC prefix, a ratio is shown in %."""
    u = unit if isinstance(unit, Unit) else infer_unit(unit)
    m = abs(max_abs) if max_abs is not None and math.isfinite(max_abs) else 0.0
    if u.base in ("milli", "micro"):
        base = 1e-3 if u.base == "milli" else 1e-6
        f, label = axis_scale(replace(u, base="seconds"), m * base)
        return f * base, label
    if u.base == "ratio" and not u.per_second:
        return 100.0, "%"
    if u.base == "seconds" and not u.per_second:
        for label, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0), ("s", 1.0), ("ms", 1e-3)):
            if m >= size * 2 or size == 1e-3:
                return 1.0 / size, label
    if u.base == "bytes":
        for prefix, size in _IEC:
            if m >= size:
                return 1.0 / size, prefix + ("B/s" if u.per_second else "B")
    return 1.0, u.label
