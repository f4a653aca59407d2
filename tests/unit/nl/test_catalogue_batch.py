"""A 2,000-metric backend's catalogue loads in a few requests (batched series lookups), with the same content
as one lookup per metric; catalogue_for caches it and refreshes on demand."""

import pytest

from promv5_lab.nl.catalogue import Catalogue, catalogue_for

T0 = 1_795_176_000


class Counting:
    """Counts the catalogue calls a backend receives (wraps the embedded engine)."""

    def __init__(self, inner, *, series=True):
        self.inner, self.calls, self.name = inner, [], inner.name
        if not series:
            self.series = None

    def __getattr__(self, attr):
        fn = getattr(self.inner, attr)
        if not callable(fn):
            return fn

        def call(*a, **kw):
            self.calls.append(attr)
            return fn(*a, **kw)
        return call


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    from promv5_lab.backends.embedded import EmbeddedBackend

    lines = []
    for i in range(2000):
        fam = f"exp{i % 40}_subsystem_metric_number_{i}"
        typ = "counter" if i % 3 == 0 else "gauge"
        lines += [f"# HELP {fam} Metric {i}.", f"# TYPE {fam} {typ}"]
        name = fam + "_total" if typ == "counter" else fam
        for j in range(2):
            lab = f'instance="host{j}:9100",job="exp{i % 40}"' + (f',shard="s{i % 7}"' if i % 2 else "")
            lines += [f"{name}{{{lab}}} {k + j} {T0 + 60 * k}" for k in range(2)]
    lines += ['up{instance="host0:9100",job="exp0"} 1 ' + str(T0), 'upstream_ok{instance="a"} 1 ' + str(T0)]
    om = tmp_path_factory.mktemp("big") / "metrics.om"
    om.write_text("\n".join(lines) + "\n# EOF\n")
    return EmbeddedBackend.open(om)


def test_two_thousand_metrics_in_a_few_calls(big):
    b = Counting(big)
    cat = Catalogue.from_backend(b)
    assert len(cat.metrics) == 2002
    assert len(b.calls) <= 15, b.calls  # names + metadata + ~10 series batches (was 2,000+ calls)
    assert b.calls.count("series") >= 2  # really batched, not one giant request
    m = cat.metrics["exp1_subsystem_metric_number_1"]
    assert m.type == "gauge" and m.labels == ("instance", "job", "shard") and m.values["shard"] == {"s1"}
    assert cat.metrics["exp0_subsystem_metric_number_0_total"].type == "counter"
    assert cat.labels_of("up") == ("instance", "job") and cat.labels_of("upstream_ok") == ("instance",)
    assert set(cat.label_values["job"]) == {f"exp{i}" for i in range(40)}


def test_batched_equals_per_metric_lookups(big):
    batched = Catalogue.from_backend(big)
    slow = Counting(big, series=False)
    per_metric = Catalogue.from_backend(slow)
    assert slow.calls.count("label_names") == 2002  # what every catalogue load used to cost
    assert batched.metrics.keys() == per_metric.metrics.keys()
    for name, m in batched.metrics.items():
        assert (m.type, m.labels) == (per_metric.metrics[name].type, per_metric.metrics[name].labels)
    assert batched.label_values == per_metric.label_values


def test_cached_and_refreshable(big):
    b = Counting(big)
    first = catalogue_for(b)
    n = len(b.calls)
    assert catalogue_for(b) is first and len(b.calls) == n  # cached: no new requests
    again = catalogue_for(b, refresh=True)
    assert again is not first and len(b.calls) > n and again.metrics.keys() == first.metrics.keys()
