"""LiveWorld with a fake clock: faults ramp, remediations change the state, time catch-up is bounded."""

import re
import time

import pytest

from promv5_lab.demo.incidents import CATALOGUE
from promv5_lab.demo.live import LiveWorld
from promv5_lab.errors import DemoError, InputError, UnknownFault


class Clock:
    def __init__(self) -> None:
        self.t = 1_795_000_000.0

    def __call__(self) -> float:
        return self.t


def _sample(text: str, name: str, **labels: str) -> float:
    total, found = 0.0, False
    for ln in text.splitlines():
        if ln.startswith(name + "{") and all(f'{k}="{v}"' in ln for k, v in labels.items()):
            total += float(ln.rsplit(" ", 1)[1])
            found = True
    assert found, (name, labels)
    return total


@pytest.fixture
def lw():
    clock = Clock()
    w = LiveWorld(seed=3, clock=clock)
    w.clock = clock
    return w


def _ratio_5xx_between(lw, service, seconds):
    a = lw.metrics_text()
    lw.clock.t += seconds
    b = lw.metrics_text()
    tot = _sample(b, "http_requests_total", service=service) - _sample(a, "http_requests_total", service=service)
    bad = sum(_sample(b, "http_requests_total", service=service, code=c)
              - _sample(a, "http_requests_total", service=service, code=c) for c in ("500", "503"))
    return bad / max(tot, 1)


def test_db_pool_fault_moves_checkout_5xx_and_right_restart_ends_it(lw):
    lw.clock.t += 60
    assert _ratio_5xx_between(lw, "checkout", 120) < 0.05
    f = lw.inject("db_pool_exhaustion")
    assert f.service == "checkout"
    lw.clock.t += 30
    assert _ratio_5xx_between(lw, "checkout", 120) > 0.4
    assert _ratio_5xx_between(lw, "frontend", 60) > 0.02
    st = lw.state()
    assert st["services"]["checkout"]["health"] != "healthy" and st["active_faults"][0]["id"] == f.id
    wrong = lw.act("restart", "payments")
    assert not wrong.effective and "resolved none" in wrong.message and f.id in lw.faults
    right = lw.act("restart", "checkout")
    assert right.effective and right.resolved == [f.id] and not lw.faults
    lw.clock.t += 30
    assert _ratio_5xx_between(lw, "checkout", 120) < 0.05


def test_memory_leak_ooms_resets_counters_and_counts_restarts(lw):
    lw.clock.t += 120
    before = _sample(lw.metrics_text(), "http_requests_total", service="cart")
    lw.inject("memory_leak", "cart")
    lw.clock.t += 45
    rss = _sample(lw.metrics_text(), "process_resident_memory_bytes", service="cart")
    assert rss > 300 * 2**20
    lw.clock.t += 20
    text = lw.metrics_text()
    assert _sample(text, "kube_pod_container_status_restarts_total", service="cart") == 1
    assert _sample(text, "http_requests_total", service="cart") < before  # the counter restarted from 0
    assert _sample(text, "process_start_time_seconds", service="cart") > lw.clock.t - 30
    assert not lw.act("rollback", "cart").effective
    assert lw.act("restart", "cart").effective


def test_disk_fill_and_clear_disk(lw):
    lw.inject("disk_fill")
    lw.clock.t += 80
    text = lw.metrics_text("node")
    avail = _sample(text, "node_filesystem_avail_bytes", mountpoint="/var/lib/postgresql")
    size = _sample(text, "node_filesystem_size_bytes", mountpoint="/var/lib/postgresql")
    assert avail / size < 0.02
    assert not lw.act("clear_disk", "checkout").effective
    with pytest.raises(InputError, match="Unknown node"):
        lw.act("clear_disk", "postgres", {"node": "node-9"})
    res = lw.act("clear_disk", "postgres", {"node": "node-3"})
    assert res.effective
    lw.clock.t += 10
    text = lw.metrics_text("node")
    assert _sample(text, "node_filesystem_avail_bytes", mountpoint="/var/lib/postgresql") / size > 0.3


def test_bad_deploy_rollback_and_build_info(lw):
    lw.inject("bad_deploy", "payments")
    text = lw.metrics_text()
    ver = re.search(r'shop_build_info\{[^}]*service="payments",version="([^"]+)"', text).group(1)
    assert ver != "0.8.0"
    assert not lw.act("restart", "payments").effective
    assert not lw.act("rollback", "checkout").effective
    assert lw.act("rollback", "payments").effective
    assert 'service="payments",version="0.8.0"' in lw.metrics_text()


def test_surge_needs_enough_replicas(lw):
    lw.inject("traffic_surge")
    lw.clock.t += 30
    assert _ratio_5xx_between(lw, "frontend", 60) > 0.1
    assert not lw.act("scale", "frontend", {"replicas": 3}).effective
    assert lw.act("scale", "frontend").effective  # default: three times the replicas
    assert lw.state()["services"]["frontend"]["replicas"] == 9
    with pytest.raises(InputError, match="replicas"):
        lw.act("scale", "frontend", {"replicas": "many"})


def test_cache_failure_and_flush(lw):
    lw.inject("cache_failure")
    lw.clock.t += 30
    assert lw.state()["cache_hit_ratio"] < 0.3
    assert not lw.act("flush_cache", "catalog").effective
    assert lw.act("flush_cache").effective  # default target: redis


def test_every_fault_type_is_fixed_by_its_remediation_only(lw):
    for kind, spec in CATALOGUE.items():
        f = lw.inject(kind)
        lw.clock.t += 10
        for action in ("restart", "rollback", "scale", "clear_disk", "flush_cache"):
            if action != spec.remediation:
                assert not lw.act(action, f.service).effective, (kind, action)
        assert lw.act(spec.remediation, f.service).effective, kind
        assert not lw.faults


def test_bad_requests(lw):
    with pytest.raises(UnknownFault):
        lw.inject("meteor")
    with pytest.raises(InputError, match="Unknown service"):
        lw.inject("disk_fill", "mainframe")
    with pytest.raises(InputError, match="cannot target"):
        lw.inject("cache_failure", "cart")
    lw.inject("disk_fill")
    with pytest.raises(DemoError, match="already active"):
        lw.inject("disk_fill")
    with pytest.raises(UnknownFault, match="No active fault"):
        lw.clear("flt-9999")
    with pytest.raises(InputError, match="Unknown action"):
        lw.act("reboot-the-world", "cart")
    with pytest.raises(InputError, match="needs a service"):
        lw.act("restart")


def test_long_idle_catch_up_is_bounded(lw):
    lw.clock.t += 30 * 86400
    t0 = time.perf_counter()
    lw.tick()
    assert time.perf_counter() - t0 < 5
    assert lw.state()["time"].startswith(time.strftime("%Y", time.gmtime(lw.clock.t)))
