"""Generic SRE vocabulary: concepts, synonyms and label-name words. Nothing here names a particular world's
metrics; it describes how exporters conventionally name things (node_exporter, kube-state-metrics, cAdvisor,
blackbox, client libraries...)."""

from __future__ import annotations

# concept -> (trigger words in questions, tokens that metric names/HELP use for it)
CONCEPTS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "latency": (frozenset({"latency", "latencies", "slow", "slowness", "slower", "duration", "durations",
                           "response", "percentile", "median", "slowest", "fastest", "quickest", "quick", "fast", "p50", "p90", "p95", "p99", "p999"}),
                frozenset({"duration", "latency", "seconds", "time", "response"})),
    "errors": (frozenset({"error", "errors", "failing", "failures", "failure", "failed", "fail", "fails",
                          "5xx", "faults", "exceptions", "broken", "erroring"}),
               frozenset({"error", "errors", "failed", "failures", "fail", "exceptions"})),
    "throughput": (frozenset({"requests", "request", "traffic", "throughput", "rps", "qps", "calls",
                              "hits", "reqs", "volume", "served"}),
                   frozenset({"requests", "request", "http", "calls", "served", "rpcs", "rpc"})),
    "cpu": (frozenset({"cpu", "cpus", "processor", "cores", "compute"}), frozenset({"cpu"})),
    "memory": (frozenset({"memory", "ram", "rss", "mem", "heap", "oom"}),
               frozenset({"memory", "mem", "resident", "heap", "rss", "working"})),
    "disk": (frozenset({"disk", "disks", "filesystem", "filesystems", "storage", "space", "volume", "volumes"}),
             frozenset({"filesystem", "disk", "fs", "volume", "storage"})),
    "network": (frozenset({"network", "bandwidth", "ingress", "egress", "receive", "received", "transmit",
                           "transmitted", "rx", "tx", "inbound", "outbound"}),
                frozenset({"network", "receive", "transmit", "rx", "tx", "bytes", "octets"})),
    "restarts": (frozenset({"restart", "restarts", "restarted", "restarting", "crash", "crashes", "crashing",
                            "crashloop", "crashlooping"}), frozenset({"restarts", "restart"})),
    "up": (frozenset({"up", "down", "alive", "reachable", "unreachable", "healthy", "unhealthy", "scrape",
                      "targets", "target", "dead", "offline", "online", "availability"}), frozenset({"up", "success"})),
    "saturation": (frozenset({"saturation", "saturated", "exhausted", "exhaustion", "pool", "utilisation",
                              "utilization", "capacity", "full"}),
                   frozenset({"in", "use", "used", "max", "limit", "pool"})),
}

# question word -> extra tokens to look for in metric names and HELP
SYNONYMS: dict[str, tuple[str, ...]] = {
    "latency": ("duration", "latency", "seconds"), "slow": ("duration", "latency"),
    "hot": ("temperature", "temp"), "hotter": ("temperature", "temp"), "warmer": ("temperature", "temp"),
    "hottest": ("temperature", "temp"), "warmest": ("temperature", "temp"), "coldest": ("temperature", "temp"),
    "idle": ("idle", "utilization", "utilisation", "busy"), "use": ("used", "usage"), "uses": ("used", "usage"),
    "degrees": ("temperature", "temp", "celsius"), "temperature": ("temp", "temperature", "celsius"),
    "response": ("duration", "latency"), "errors": ("error", "errors", "failed"), "error": ("errors", "failed"),
    "failures": ("failed", "errors", "error", "failure"), "failed": ("failed", "errors", "failure"),
    "failing": ("failed", "errors", "success", "failure"),
    "traffic": ("requests", "http", "octets", "bytes"), "throughput": ("requests", "total"), "rps": ("requests",), "qps": ("queries", "requests"),
    "load": ("requests",), "calls": ("requests", "calls"), "ram": ("memory", "mem"), "rss": ("resident", "memory"),
    "mem": ("memory",), "memory": ("mem", "resident", "ram"), "disk": ("filesystem", "fs", "disk"),
    "storage": ("filesystem", "disk"), "space": ("filesystem", "avail", "bytes"), "restarts": ("restarts", "restart"), "restart": ("restarts",),
    "crash": ("restarts",), "crashes": ("restarts",), "crashing": ("restarts",), "restarted": ("restarts",),
    "bandwidth": ("network", "bytes", "octets"), "ingress": ("receive",), "egress": ("transmit",),
    "inbound": ("receive", "received", "in", "rx"), "outbound": ("transmit", "transmitted", "out", "tx", "sent"),
    "input": ("in", "receive", "received", "inbound"), "output": ("out", "transmit", "transmitted", "outbound"),
    "incoming": ("in", "receive", "received"), "outgoing": ("out", "transmit", "sent"),
    "interface": ("if", "interface", "device", "nic"), "interfaces": ("if", "interface", "device", "nic"),
    "port": ("if", "interface", "port"), "ports": ("if", "interface", "port"), "link": ("if", "interface", "link"),
    "links": ("if", "interface", "link"), "download": ("sent", "transmit", "tx"), "downloads": ("sent", "transmit"),
    "upload": ("received", "receive", "rx"), "uploads": ("received", "receive"), "average": ("avg", "mean", "average"), "received": ("receive",), "sent": ("transmit",), "rx": ("receive",),
    "tx": ("transmit",), "db": ("db", "database", "pg", "postgres", "sql"), "database": ("db", "database", "pg"),
    "sql": ("db", "queries"), "queries": ("queries", "query", "requests", "statements"), "query": ("queries", "query"),
    "descriptors": ("fds", "fd", "descriptors"), "have": ("has",),
    "statements": ("statements", "queries", "commands", "query"), "expire": ("expiry", "expiration", "expires", "after"),
    "expires": ("expiry", "expiration", "after"), "expiry": ("expiry", "expiration", "expire"),
    "cert": ("cert", "certs", "certificate", "ssl", "tls"), "certificate": ("cert", "certs", "certificate", "ssl", "tls"), "connections": ("connections", "conn", "cx", "connected", "sessions"),
    "pool": ("connections", "pool"),
    "sessions": ("sessions", "connections", "activity", "backends"), "session": ("sessions", "connections"), "backlog": ("queue", "depth"), "queued": ("queue", "depth"),
    "waiting": ("queue", "depth", "ready", "pending"), "lag": ("lag", "queue", "behind", "delay"),
    "delay": ("lag", "behind", "delay"), "replication": ("replication", "replica", "slave", "replset"),
    "depth": ("depth", "messages", "ready", "backlog"), "ops": ("ops", "op", "operations", "commands", "processed"),
    "operations": ("ops", "op", "operations", "commands"), "retries": ("retry", "retries", "retried"),
    "messages": ("messages", "msgs", "msg"), "conns": ("connections", "cx", "conn"), "cache": ("cache",), "hit": ("hits",), "miss": ("misses",),
    "misses": ("misses",), "hits": ("hits", "accesses"), "down": ("up", "success"), "up": ("up", "success"), "alive": ("up",), "reachable": ("up",),
    "free": ("avail", "available", "free"), "available": ("avail", "available"), "processor": ("cpu",),
    "cores": ("cpu",), "uptime": ("start", "time"), "started": ("start",), "version": ("build", "info", "version"),
    "deployed": ("build", "info", "version"), "build": ("build", "info"), "running": ("build", "info", "up"),
    "pods": ("pod",), "containers": ("container",), "requests": ("requests", "http", "rq", "req", "reqs", "rpcs", "accesses"),
    "request": ("requests", "http", "rq", "req"),
    "limit": ("limit", "max", "maximum", "capacity", "quota"),
    # frameworks whose exporters name metrics after their language or server
    "rails": ("ruby", "rack", "puma"), "connection": ("connections", "conn", "cx", "connected"),
}

# words for a label in questions -> label names exporters use for it (first found on the metric wins)
LABEL_WORDS: dict[str, tuple[str, ...]] = {
    "node": ("instance", "node", "host", "hostname", "nodename", "name"), "nodes": ("instance", "node", "host", "name"),
    "host": ("instance", "host", "hostname", "node"), "hosts": ("instance", "host", "node"),
    "machine": ("instance", "node", "host"), "machines": ("instance", "node", "host"),
    "server": ("instance", "server", "node"), "servers": ("instance", "server", "node"),
    "instance": ("instance",), "instances": ("instance",), "target": ("instance", "job"), "targets": ("instance", "job"),
    "service": ("service", "job", "app", "application", "svc"), "services": ("service", "job", "app"),
    "app": ("app", "application", "service", "job"), "apps": ("app", "service", "job"),
    "job": ("job",), "jobs": ("job",), "pod": ("pod", "pod_name"), "pods": ("pod", "pod_name"),
    "container": ("container", "container_name"), "containers": ("container", "container_name"),
    "namespace": ("namespace",), "namespaces": ("namespace",), "ns": ("namespace",),
    "route": ("route", "path", "handler", "endpoint", "uri", "url"), "routes": ("route", "path", "handler", "endpoint", "uri"),
    "path": ("path", "route", "handler", "uri"), "paths": ("path", "route", "handler"),
    "endpoint": ("endpoint", "route", "handler", "path", "uri"), "endpoints": ("endpoint", "route", "handler", "path"),
    "handler": ("handler", "route", "path"), "handlers": ("handler", "route", "path"),
    "url": ("url", "uri", "path", "route"), "urls": ("url", "uri", "path", "route"),
    "status": ("code", "status", "status_code", "outcome"), "code": ("code", "status_code", "status"),
    "codes": ("code", "status_code", "status"), "outcome": ("outcome", "status", "result"),
    "method": ("method", "verb"), "methods": ("method", "verb"), "verb": ("verb", "method"),
    "cpu": ("cpu", "core"), "core": ("cpu", "core"), "mode": ("mode",), "modes": ("mode",),
    "device": ("device", "interface"), "devices": ("device",),
    # SNMP's IF-MIB names an interface by ifName/ifAlias/ifDescr; node_exporter by device
    "interface": ("device", "interface", "ifName", "ifDescr", "ifAlias", "nic"),
    "interfaces": ("device", "interface", "ifName", "ifDescr", "ifAlias", "nic"),
    "port": ("ifName", "ifDescr", "ifAlias", "port"), "ports": ("ifName", "ifDescr", "ifAlias", "port"),
    "link": ("ifAlias", "ifName", "ifDescr", "link"), "links": ("ifAlias", "ifName", "ifDescr", "link"),
    "box": ("instance", "host", "node"), "boxes": ("instance", "host", "node"),
    "drive": ("volume", "drive", "device", "mountpoint"), "drives": ("volume", "drive", "device", "mountpoint"), "mountpoint": ("mountpoint", "mount"), "mountpoints": ("mountpoint",),
    "mount": ("mountpoint",), "mounts": ("mountpoint",), "filesystem": ("mountpoint", "device"),
    "filesystems": ("mountpoint", "device"), "disk": ("device", "mountpoint"), "disks": ("device", "mountpoint"),
    "queue": ("queue", "topic"), "queues": ("queue", "topic"), "topic": ("topic", "queue"), "topics": ("topic",),
    "version": ("version",), "versions": ("version",), "region": ("region",), "zone": ("zone",),
    "command": ("command", "cmd", "operation", "op"), "commands": ("command", "cmd", "operation", "op"),
    "deployment": ("deployment",), "deployments": ("deployment",), "database": ("datname", "database", "db"),
    # network appliances are scrape targets: "per router" is per instance
    "router": ("instance", "router", "host"), "routers": ("instance", "router", "host"),
}

# label names whose values are outcomes, and which of their values mean failure
OUTCOME_LABELS = ("code", "status_code", "status", "outcome", "result", "success", "state", "level", "severity",
                  "phase")
ERROR_VALUES = frozenset({"error", "errors", "failed", "failure", "fail", "false", "timeout", "exception", "5xx", "err"})

def _words(text: str) -> list[str]:
    return text.split()


STOPWORDS = frozenset(_words(
    "the a an of for on in at to is are was were be been what whats what's which who how much many me show give "
    "tell please can could would you i we our my there their this that it its and or with by per from over during "
    "do does did have has had any some all each every currently current now right value values level levels "
    "metric metrics graph chart plot see look looking get got about just like kind sort hey hi so okay ok then "
    "rate number count total average avg mean sum max min maximum minimum top bottom highest lowest most least "
    "last past since between compared versus vs than above below over under more less greater exceeds "
    "percent percentage ratio fraction share proportion usage used utilisation utilization happening going "
    "being getting seeing look whether if as much right now instead again also too same one ones break "
    "down it's doesn't don't isn't anything something everything nothing stuff things thing using use uses "
    "serving serve doing looks wondering seeing having gets get going want need know check think should "
    "been has happen happened happens whether still yet maybe really quite very much lot lots bit "
    "moment times time quick one okay thanks thank hello hey when where why whose whom will shall might must "
    "may cannot until while into onto upon within close near across both"))

# words in metric names that qualify a subsystem: a metric carrying one the question does not mention is
# a worse match for an unqualified question ("latency of cart" is the service's requests, not its db queries)
QUALIFIERS = frozenset({"db", "database", "sql", "cache", "queue", "node", "kube", "container", "pod", "filesystem",
                        "network", "redis", "postgres", "pg", "mysql", "kafka", "go", "jvm", "apiserver", "etcd",
                        "coredns", "scrape", "grpc", "client", "consumer", "producer"})
REQUEST_TOKENS = frozenset({"request", "requests", "http", "server", "rpc", "handler"})

HIGH_WORDS = frozenset({"most", "highest", "worst", "top", "biggest", "largest", "busiest", "slowest", "heaviest", "max",
                        "fullest", "hottest", "warmest"})
LOW_WORDS = frozenset({"least", "lowest", "bottom", "smallest", "fastest", "quietest", "min", "coldest"})
RATIO_WORDS = frozenset({"busy", "ratio", "percentage", "percent", "fraction", "share", "proportion", "%", "pct",
                         "usage", "utilisation", "utilization", "saturation", "saturated", "full", "used"})
COUNT_PHRASES = ("how many", "number of", "count of", "total number", "how often")
