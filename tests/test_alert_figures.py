"""Figure builders of the Alerts page and the change-point markers (pure functions)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from dashboards.charts.alert_figures import add_change_markers, build_change_series_figure, build_provider_metric_figure
from dashboards.charts.text import safe_figure

EVIL = "<a href='javascript:alert(1)'>x</a><b>"


def changes(n: int, provider: str = "azure") -> pl.DataFrame:
    return pl.DataFrame({
        "onset_day": [dt.date(2025, 3, 1) + dt.timedelta(days=7 * i) for i in range(n)],
        "model": ["m"] * n, "provider": [provider] * n, "metric": ["error_rate"] * n,
        "direction": ["up"] * n, "attribution": ["provider"] * n,
    })


def series(provider: str = "azure") -> pl.DataFrame:
    days = [dt.date(2025, 2, 1) + dt.timedelta(days=i) for i in range(60)]
    return pl.DataFrame({"day": days, "provider": [provider] * 60, "value": [0.01 * (1 + (i >= 30)) for i in range(60)],
                         "observations": [100] * 60})


def test_markers_one_per_change_at_the_onset() -> None:
    fig = add_change_markers(build_provider_metric_figure(series(), "error_rate"), changes(3))
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert len(lines) == 3
    assert [s.x0.date() for s in lines] == changes(3)["onset_day"].to_list()
    marker = fig.data[-1]
    assert marker.name == "change onset" and len(marker.x) == 3 and max(marker.y) == 0.02
    assert add_change_markers(build_provider_metric_figure(series(), "error_rate"), changes(0)).layout.shapes == ()


def test_names_from_the_data_are_text_not_markup() -> None:
    fig = safe_figure(add_change_markers(build_provider_metric_figure(series(EVIL), "error_rate"), changes(1, EVIL)))
    rendered = [fig.data[0].name, *fig.data[-1].text]
    assert all("<a" not in t and "<b>" not in t for t in rendered), rendered
    assert "&lt;a href" in fig.data[0].name
    change = {"model": "m", "provider": EVIL, "metric": "error_rate", "onset_day": dt.date(2025, 3, 3),
              "detected_day": dt.date(2025, 3, 6), "baseline_value": 0.01, "baseline_low": 0.008, "baseline_high": 0.012}
    fig = safe_figure(build_change_series_figure(series().drop("provider"), change))
    assert "<a" not in fig.layout.title.text and "<a" not in fig.data[0].name
    dashes = sorted(s.line.dash for s in fig.layout.shapes if s.type == "line")
    assert dashes == ["dash", "dot"]  # onset and detection
    assert any(s.type == "rect" for s in fig.layout.shapes)  # the baseline band
