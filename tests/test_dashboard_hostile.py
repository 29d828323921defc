"""Names from the data are text on every page: an AppTest walk over a warehouse with hostile names.

Providers, apps and a model are named like markup (markdown links and images, HTML links and
bold, rich markup, LaTeX, code spans, Streamlit directives, hovertemplate variables — see
tests/fixtures/hostile.py). On every page: no exception; no markdown element (markdown,
caption, title, alerts, metric label/value/help) holds a hostile name unescaped; no Plotly
figure holds one unescaped in any string (trace names, data arrays, templates, titles). And the
escaped forms are really there (the test is not vacuous): each name reaches some figure through
``plotly_text`` and the Providers page's markdown through ``md``.
"""

from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from dashboards.charts.text import md, plotly_text, safe_figure
from tests.conftest import ROOT
from tests.fixtures.hostile import HOSTILE, build_hostile_warehouse, hostile_strings

pytestmark = pytest.mark.xdist_group("dashboard_apptest")

APP = str(ROOT / "dashboards" / "app.py")
PAGES = ["overview", "tool_calling", "reasoning", "model_mix", "providers", "load", "performance", "data_policy", "lock_in", "users", "alerts", "data_quality", "sql"]
AUTOLINK = re.compile(r"https?://|www\.|\w@[\w-]", re.IGNORECASE)  # GFM autolink literals
MARKDOWN_KINDS = ("markdown", "caption", "title", "header", "subheader", "info", "warning", "error", "success")


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory: pytest.TempPathFactory):
    db = tmp_path_factory.mktemp("hostile") / "warehouse.duckdb"
    build_hostile_warehouse(db, days=21, requests_per_day=150)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GATEWAYLENS_DB", str(db))
        mp.delenv("GATEWAYLENS_SERVING", raising=False)
        yield db


def _page(name: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    if name != "overview":
        at.switch_page(f"views/{name}.py").run()
    return at


def _markdown_texts(at: AppTest) -> list[str]:
    texts = [str(el.value) for kind in MARKDOWN_KINDS for el in getattr(at, kind)]
    for m in at.metric:
        texts += [str(m.label), str(m.value), str(m.proto.help or "")]
    return texts


def _strings(node, key: str = "") -> list[str]:
    if isinstance(node, str):
        if key.endswith("template"):  # our own %{...} syntax is there by design: mask it
            node = re.sub(r"%\{[^}]*\}", "", node)
        return [node]
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in ([k] + _strings(v, k))]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v, key)]
    return []


def _figure_strings(at: AppTest) -> list[str]:
    return [s for chart in at.get("plotly_chart") for s in _strings(json.loads(chart.proto.spec))]


def _raw_hits(texts: list[str], escape) -> list[tuple[str, str]]:
    """(name, text) for every name that ``escape`` changes (it is markup there) found raw in a text."""
    names = [n for n in hostile_strings() if escape(n) != n]
    return [(name, text[:200]) for text in texts for name in names if name in text]


@pytest.fixture(scope="module")
def walked(hostile_db) -> dict[str, tuple[list[str], list[str]]]:
    out = {}
    for name in PAGES:
        at = _page(name)
        assert not at.exception, (name, [e.message for e in at.exception])
        out[name] = (_markdown_texts(at), _figure_strings(at))
    return out


@pytest.mark.parametrize("name", PAGES)
def test_no_page_renders_a_hostile_name_as_markup(walked, name: str) -> None:
    markdown, figures = walked[name]
    assert not _raw_hits(markdown, md), f"{name}: unescaped in markdown: {_raw_hits(markdown, md)}"
    # GFM autolinks http://, www. and e-mail addresses in text even when escaped
    autolinkable = [t for t in markdown if AUTOLINK.search(t.replace("\\", ""))]
    assert not autolinkable, f"{name}: autolinkable text in markdown: {autolinkable}"
    assert not _raw_hits(figures, plotly_text), f"{name}: unescaped in a figure: {_raw_hits(figures, plotly_text)}"


def test_the_names_are_shown_escaped_not_dropped(walked) -> None:
    figures = [s for _, figs in walked.values() for s in figs]
    for name in HOSTILE:
        assert any(plotly_text(name) in s for s in figures), f"{name!r} is on no chart"
    providers_md = walked["providers"][0]
    assert any(md(name) in text for text in providers_md for name in HOSTILE), providers_md


FILTERED = ["overview", "tool_calling", "reasoning", "model_mix", "providers", "load", "performance", "data_policy",
            "lock_in", "users"]


def test_hostile_team_and_tag_selections_filter_every_page_as_text(hostile_db) -> None:
    """Teams and tags named like markup are sidebar options (text), select apps through bound values on
    every page, and the page shows no name unescaped."""
    at = _page("overview")
    teams, tags = at.sidebar.multiselect(key="filters.teams"), at.sidebar.multiselect(key="filters.tags")
    hostile_teams = [o for o in teams.options if o.startswith("team ")]
    hostile_tags = [o for o in tags.options if o.startswith("tag ")]
    assert hostile_teams and hostile_tags and set(hostile_teams + hostile_tags) <= set(hostile_strings())
    teams.set_value(hostile_teams[:1]).run()
    at.sidebar.multiselect(key="filters.tags").set_value(hostile_tags[:1]).run()
    for name in FILTERED:
        if name != "overview":
            at.switch_page(f"views/{name}.py").run()
        assert not at.exception, (name, [e.message for e in at.exception])
        assert at.sidebar.multiselect(key="filters.teams").value == hostile_teams[:1]  # bound, kept as given
        markdown = _markdown_texts(at) + [c.value for c in at.sidebar.caption]
        assert not _raw_hits(markdown, md), (name, _raw_hits(markdown, md))
        assert not _raw_hits(_figure_strings(at), plotly_text), name
    assert any(c.value.startswith("Teams/tags keep") for c in at.sidebar.caption)


def test_escaping_helpers_turn_markup_into_text() -> None:
    wj = "\u2060"  # no link, and no GFM autolink literal either (it fires on text, after escapes)
    assert md("[x](http://evil)") == "\\[x\\]\\(http\\:" + wj + "\\/\\/evil\\)"
    assert md("www.evil.com a@b.c") == "www" + wj + "\\.evil\\.com a\\@" + wj + "b\\.c"
    assert md("![i](u)") == r"\!\[i\]\(u\)"
    assert md("$x$ `t` <b> :red[r]") == r"\$x\$ \`t\` \<b\> \:red\[r\]"
    assert md("a\nb") == "a b"  # one line: no new markdown block
    assert plotly_text("<a href=x>") == "&lt;a href=x&gt;"
    assert plotly_text("$x$ %{y} & 'q'") == "&#36;x&#36; &#37;{y} &amp; &#39;q&#39;"
    import plotly.graph_objects as go

    fig = safe_figure(go.Figure(go.Bar(x=["<b>", "ok"], y=[1, 2], name="[/x] <i>", customdata=[["$x$", 1], ["y", 2]])))
    trace = fig.data[0]
    assert list(trace.x) == ["&lt;b&gt;", "ok"] and trace.name == "[/x] &lt;i&gt;"
    assert [list(c) for c in trace.customdata] == [["&#36;x&#36;", 1], ["y", 2]]
    assert safe_figure(fig).data[0].name == "[/x] &lt;i&gt;"  # once only: never double-escaped


def test_sql_console_shows_stored_names_as_text(hostile_db) -> None:
    at = _page("sql")
    at.text_area(key="sql.text").set_value(
        'SELECT provider AS "<b>who</b>", count(*) AS requests FROM requests GROUP BY ALL ORDER BY 1'
    )
    next(b for b in at.button if b.label == "Run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    table = at.dataframe[0].value
    assert set(HOSTILE) <= set(table.iloc[:, 0])  # the table holds the names verbatim (shown as text)
    assert not _raw_hits(_figure_strings(at), plotly_text)
