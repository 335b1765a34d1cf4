"""The Cloud Monitoring dashboards (monitoring/dashboards/cloud/*.json), as policies: every panel's query
parses and names only metrics GCP or the platform exports, the issue's dashboards exist, layouts fit."""
from __future__ import annotations

import json

import pytest

from monitoring import dashboards as module
from monitoring.alerts import LOG_METRICS
from monitoring.dashboards import CLOUD_DASHBOARDS, cloud_dashboards, queries
from monitoring.metrics import cloud_promql_names
from tests.monitoring.promql import metric_names

DASHBOARDS = dict(cloud_dashboards())
KNOWN = cloud_promql_names(metric.name for metric in LOG_METRICS)


def test_the_dashboards_the_issue_asks_for_exist():
    assert {"platform-overview", "cloud-sql", "temporal", "ai-gpu", "cloud-armor"} <= set(DASHBOARDS)


@pytest.mark.parametrize("name", DASHBOARDS)
def test_every_query_parses_and_names_only_exported_metrics(name):
    found = list(queries(DASHBOARDS[name]))
    assert found, name
    for query in found:
        names = metric_names(query)
        assert names and names <= KNOWN, f"{name}: {sorted(names - KNOWN)} is exported by nothing (monitoring/metrics.py)"


@pytest.mark.parametrize("name", DASHBOARDS)
def test_tiles_have_titles_and_fit_the_grid_without_overlapping(name):
    layout = DASHBOARDS[name]["mosaicLayout"]
    cells = set()
    for tile in layout["tiles"]:
        assert tile["widget"]["title"], name
        assert tile["xPos"] + tile["width"] <= layout["columns"], name
        area = {(x, y) for x in range(tile["xPos"], tile["xPos"] + tile["width"])
                for y in range(tile["yPos"], tile["yPos"] + tile["height"])}
        assert not area & cells, f"{name}: {tile['widget']['title']} overlaps another tile"
        cells |= area


def test_the_overview_shows_what_the_issue_lists():
    titles = " ".join(t["widget"]["title"].lower() for t in DASHBOARDS["platform-overview"]["mosaicLayout"]["tiles"])
    for topic in ("requests", "p50", "p95", "p99", "5xx", "cpu", "memory", "restarts", "nodes"):
        assert topic in titles, topic


def test_a_file_without_a_purpose_is_refused(tmp_path, monkeypatch):
    for name in CLOUD_DASHBOARDS:
        (tmp_path / f"{name}.json").write_text("{}")
    (tmp_path / "extra.json").write_text("{}")
    monkeypatch.setattr(module, "CLOUD_DIR", tmp_path)
    with pytest.raises(ValueError, match=r"must name the same dashboards; add the file or its purpose"):
        list(cloud_dashboards())


def test_a_file_that_is_not_json_is_refused_by_name(tmp_path, monkeypatch):
    for name in CLOUD_DASHBOARDS:
        (tmp_path / f"{name}.json").write_text(json.dumps({"displayName": name}))
    (tmp_path / "temporal.json").write_text("{not json")
    monkeypatch.setattr(module, "CLOUD_DIR", tmp_path)
    with pytest.raises(ValueError, match=r"temporal\.json: not valid JSON"):
        list(cloud_dashboards())
