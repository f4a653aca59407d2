"""The batched catalogue lookup against a real Prometheus 2.42 (backfilled demo history): a few requests,
and the same metrics, labels and label values as the embedded engine over the same history."""

from promv5_lab.backends.embedded import EmbeddedBackend
from promv5_lab.backends.prometheus import PrometheusBackend
from promv5_lab.nl.catalogue import Catalogue


class Counting:
    def __init__(self, inner):
        self.inner, self.calls, self.name = inner, [], inner.name

    def __getattr__(self, attr):
        fn = getattr(self.inner, attr)

        def call(*a, **kw):
            self.calls.append(attr)
            return fn(*a, **kw)
        return call if callable(fn) else fn


def test_prometheus_catalogue_in_a_few_requests(prometheus_demo, demo_history):
    prom = Counting(PrometheusBackend(prometheus_demo.url, timeout_s=30))
    cat = Catalogue.from_backend(prom)
    assert len(prom.calls) <= 4, prom.calls  # names, metadata, one series batch for the demo's ~40 metrics
    ref = Catalogue.from_backend(EmbeddedBackend.open(demo_history.out_dir))
    assert cat.metrics.keys() == ref.metrics.keys() and len(cat.metrics) > 20
    for name, m in cat.metrics.items():
        assert m.labels == ref.metrics[name].labels, name
        assert m.values == ref.metrics[name].values, name
    assert cat.label_values == ref.label_values
