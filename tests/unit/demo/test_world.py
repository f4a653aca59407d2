from promv5_lab.demo.world import WORLD, HTTP_BUCKETS


def test_topology_has_the_shop_services_on_three_nodes():
    names = set(WORLD.service_names)
    assert {"frontend", "checkout", "payments", "catalog", "cart", "postgres", "redis"} <= names
    assert WORLD.node_names == ("node-1", "node-2", "node-3")
    assert {s.node for s in WORLD.services} == set(WORLD.node_names)


def test_call_graph_edges():
    g = WORLD.call_graph()
    assert set(g["frontend"]) == {"catalog", "cart", "checkout"}
    assert {"payments", "postgres"} <= set(g["checkout"])
    assert "redis" in g["catalog"]
    assert g["postgres"] == () and g["redis"] == ()
    assert WORLD.upstream_of("payments") == ("checkout", "frontend")
    assert "frontend" in WORLD.upstream_of("postgres")


def test_metric_catalogue_is_consistent():
    names = [m.name for m in WORLD.metrics]
    assert len(names) == len(set(names))
    for m in WORLD.metrics:
        assert m.help and m.kind in ("counter", "gauge", "histogram")
        if m.kind == "counter":
            assert m.name.endswith("_total") and m.family == m.name[: -len("_total")]
        else:
            assert not m.name.endswith("_total") and m.family == m.name
    assert len(HTTP_BUCKETS) == 10
    assert WORLD.metric("up").labels == ("job", "instance")
