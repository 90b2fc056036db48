"""Monitoring of the deployment: Prometheus alert rules and scrape config, Grafana.

Every query is parsed by a real PromQL parser (syntax and function argument types) and may
only name the documented metrics and their labels, so a renamed metric cannot leave an
alert that never fires. (``promtool`` is not installed here; the parser stands in for it.)
"""

from __future__ import annotations

import json
import re
from typing import Any

import promql_parser
import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

import api.metrics
import calcom.metrics
import observability.metrics
from config.settings import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
PROMETHEUS = DEPLOY / "prometheus" / "prometheus.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "booking.json"
PROVISIONING = DEPLOY / "grafana" / "provisioning"

# The documented metric families and their labels (histograms expose _bucket/_count/_sum).
PROJECT_METRICS: dict[str, tuple[str, set[str]]] = {
    "booking_hold_outcomes": ("counter", {"outcome"}),
    "booking_duration_seconds": ("histogram", {"kind", "outcome"}),
    "booking_compensations": ("counter", {"reason"}),
    "booking_race_detections": ("counter", {"stage"}),
    "booking_workflows_open": ("gauge", {"status"}),
    "booking_recording_failures": ("counter", {"step"}),
    "booking_degraded_holds": ("counter", {"reason"}),
    "booking_worker_loop_stalls": ("counter", set()),
    "calcom_request_seconds": ("histogram", {"endpoint", "status"}),
    "calcom_rate_limit_wait_seconds": ("histogram", {"priority"}),
    "calcom_rate_budget_exhausted": ("counter", {"priority"}),
    "api_requests": ("counter", {"function", "outcome"}),
    "api_request_seconds": ("histogram", {"function"}),
    "api_budget_exceeded": ("counter", {"function"}),
}
# Temporal Python SDK (PrometheusConfig defaults: no _total suffix, milliseconds).
SDK_LABELS = {"namespace", "task_queue", "activity_type", "workflow_type", "service_name"}
SDK_METRICS = {
    "temporal_activity_schedule_to_start_latency_bucket": SDK_LABELS | {"le"},
    "temporal_workflow_task_execution_failed": SDK_LABELS,
}
# Prometheus' own per-target series.
SCRAPE_METRICS = {"up": {"job", "instance"}}


def _series_labels() -> dict[str, set[str]]:
    """Every series name a query may select, with the labels it may match on."""
    out: dict[str, set[str]] = {**SDK_METRICS, **SCRAPE_METRICS}
    for family, (kind, labels) in PROJECT_METRICS.items():
        if kind == "counter":
            out[f"{family}_total"] = labels
        elif kind == "histogram":
            out[f"{family}_bucket"] = labels | {"le"}
            out[f"{family}_count"] = labels
            out[f"{family}_sum"] = labels
        else:
            out[family] = labels
    return out


def _selected(expr: str) -> dict[str, set[str]]:
    """Metric names selected by a PromQL query, with the labels their matchers use."""
    found: dict[str, set[str]] = {}

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            assert node.name, f"a selector without a metric name in {expr!r}"
            found.setdefault(node.name, set()).update(
                m.name for m in node.matchers.matchers if m.name != "__name__"
            )

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


def _assert_known(expr: str) -> set[str]:
    allowed = _series_labels()
    selected = _selected(expr)
    unknown = sorted(set(selected) - set(allowed))
    assert unknown == [], f"undocumented metrics {unknown} in {expr!r}"
    for name, labels in selected.items():
        assert labels <= allowed[name], f"{name}: unknown labels {labels - allowed[name]}"
    return set(selected)


def _families(series: set[str]) -> set[str]:
    families = {f for f in PROJECT_METRICS if any(s.startswith(f) for s in series)}
    return families | (series & (set(SDK_METRICS) | set(SCRAPE_METRICS)))


def _rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_alert_rules_have_the_fields_on_call_needs() -> None:
    rules = _rules()
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names)) >= 10
    for rule in rules:
        assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}
        promql_parser.parse_duration(rule["for"])
        annotations = rule["annotations"]
        assert set(annotations) == {"summary", "description", "runbook_url"}
        assert annotations["runbook_url"] == f"docs/operations.md#{rule['alert'].lower()}"
        assert len(annotations["description"]) > 80, rule["alert"]


def test_alerts_cover_every_documented_metric_and_only_those() -> None:
    selected: set[str] = set()
    for rule in _rules():
        selected |= _assert_known(rule["expr"])
    assert _families(selected) == set(PROJECT_METRICS) | set(SDK_METRICS) | set(SCRAPE_METRICS)


@pytest.mark.parametrize(
    ("alert", "metric"),
    [
        ("BookingLostHoldRateHigh", "booking_hold_outcomes_total"),
        ("BookingRaceAtBookTimeHigh", "booking_race_detections_total"),
        ("BookingLatencyHigh", "booking_duration_seconds_bucket"),
        ("CompoundBookingLatencyHigh", "booking_duration_seconds_bucket"),
        ("BookingCompensationRateHigh", "booking_compensations_total"),
        ("BookingWorkflowsStuck", "booking_workflows_open"),
        ("BookingUnrecorded", "booking_recording_failures_total"),
        ("HoldsWithoutReservationHigh", "booking_degraded_holds_total"),
        ("WorkerEventLoopBlocked", "booking_worker_loop_stalls_total"),
        ("CalcomErrorRateHigh", "calcom_request_seconds_count"),
        ("CalcomRateBudgetExhausted", "calcom_rate_budget_exhausted_total"),
        ("CalcomRateLimitWaitHigh", "calcom_rate_limit_wait_seconds_bucket"),
        ("ApiServerErrorsHigh", "api_requests_total"),
        (
            "TemporalActivityScheduleToStartHigh",
            "temporal_activity_schedule_to_start_latency_bucket",
        ),
        ("TemporalWorkflowTaskFailures", "temporal_workflow_task_execution_failed"),
    ],
)
def test_each_alert_idea_has_its_rule(alert: str, metric: str) -> None:
    rule = next(r for r in _rules() if r["alert"] == alert)
    assert metric in _selected(rule["expr"])


def test_documented_metrics_are_the_ones_the_code_exports() -> None:
    in_code: dict[str, tuple[str, set[str]]] = {}
    for module in (observability.metrics, calcom.metrics, api.metrics):
        for collector in vars(module).values():
            if isinstance(collector, MetricWrapperBase):
                (family,) = collector.describe()
                # prometheus_client has no public accessor for a collector's label names.
                in_code[family.name] = (family.type, set(collector._labelnames))
    assert in_code == {name: PROJECT_METRICS[name] for name in in_code}
    assert set(in_code) == set(PROJECT_METRICS)


def _scrape_targets() -> dict[str, list[str]]:
    config = yaml.safe_load(PROMETHEUS.read_text())
    return {
        job["job_name"]: [t for static in job["static_configs"] for t in static["targets"]]
        for job in config["scrape_configs"]
    }


def test_prometheus_loads_the_rules_and_scrapes_the_compose_services() -> None:
    config = yaml.safe_load(PROMETHEUS.read_text())
    assert [(PROMETHEUS.parent / f).is_file() for f in config["rule_files"]] == [True]
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())["services"]
    api_port = int(compose["api"]["environment"]["API_PORT"])
    metrics_port = int(compose["worker"]["environment"]["WORKER_METRICS_PORT"])
    assert _scrape_targets() == {
        "booking-api": [f"api:{api_port}"],
        "booking-worker": [f"worker:{metrics_port}"],
        "temporal-sdk": [f"worker:{metrics_port + 1}"],  # worker.py: the SDK's port
    }
    assert "./deploy/prometheus:/etc/prometheus:ro" in compose["prometheus"]["volumes"]


def test_prometheus_scrapes_the_apis_metrics_with_the_ops_token() -> None:
    """The API's /metrics answers 401 without OPS_TOKEN: Prometheus reads it from the
    compose secret made from the same variable the API gets."""
    jobs = {j["job_name"]: j for j in yaml.safe_load(PROMETHEUS.read_text())["scrape_configs"]}
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    auth = jobs["booking-api"]["authorization"]
    assert auth["type"] == "Bearer"
    assert auth["credentials_file"] == "/run/secrets/ops_token"
    assert "ops_token" in compose["services"]["prometheus"]["secrets"]
    assert compose["secrets"]["ops_token"] == {"environment": "OPS_TOKEN"}
    assert compose["services"]["api"]["environment"]["OPS_TOKEN"].startswith("${OPS_TOKEN:?")
    assert "authorization" not in jobs["booking-worker"]  # the worker's port is internal


def test_target_down_alert_watches_every_scrape_job() -> None:
    rule = next(r for r in _rules() if r["alert"] == "BookingTargetDown")
    job_patterns: list[str] = []

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.VectorSelector) and node.name == "up":
            job_patterns.extend(m.value for m in node.matchers.matchers if m.name == "job")

    promql_parser.walk(promql_parser.parse(rule["expr"]), visit)
    (pattern,) = job_patterns
    assert [job for job in _scrape_targets() if not re.fullmatch(pattern, job)] == []


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for panel in dashboard["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))
    return out


def test_dashboard_charts_every_documented_metric_from_the_provisioned_prometheus() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    datasources = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())
    (datasource,) = datasources["datasources"]
    assert datasource["url"] == "http://prometheus:9090"
    panels = [p for p in _panels(dashboard) if p["type"] != "row"]
    assert len({p["id"] for p in _panels(dashboard)}) == len(_panels(dashboard))
    selected: set[str] = set()
    for panel in panels:
        assert panel["datasource"]["uid"] == datasource["uid"], panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            selected |= _assert_known(target["expr"])
    assert _families(selected) == set(PROJECT_METRICS) | set(SDK_METRICS) | set(SCRAPE_METRICS)


def test_grafana_loads_the_dashboards_from_where_compose_mounts_them() -> None:
    providers = yaml.safe_load((PROVISIONING / "dashboards" / "booking.yml").read_text())
    (provider,) = providers["providers"]
    grafana = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())["services"][
        "grafana"
    ]
    mounts = {v.split(":")[0]: v.split(":")[1] for v in grafana["volumes"]}
    assert mounts["./deploy/grafana/dashboards"] == provider["options"]["path"]
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
