"""Names from the data are text, never markup: the two escaping helpers of the dashboard.

Model, provider and app names (and anything else read from the warehouse) may contain markdown
(``[x](http://evil)``, ``![i](http://evil/i.png)``), HTML (``<a href=x>``, ``<b>``), LaTeX
(``$x$``), Streamlit directives (``:red[x]``, ``:material/x:``) or Plotly's pseudo-HTML. Shown
raw they become live links, external image fetches or markup. So:

* :func:`md` — for text placed in anything Streamlit renders as markdown: ``st.markdown``,
  ``st.caption``, ``st.info/warning/error/success``, ``st.title/subheader``, metric labels,
  widget labels and help. Every ASCII punctuation character is backslash-escaped (CommonMark
  allows that for all of them), line breaks become spaces (a name is one line of text), and an
  invisible WORD JOINER (U+2060) is put inside ``://``, ``www.`` and after ``@``: Streamlit's
  markdown (GFM) turns ``http://…``, ``www.…`` and ``a@b.c`` in *text* into links after
  escapes are resolved, so escaping alone does not stop those.
* :func:`plotly_text` — for text you compose into a Plotly string (a ``hovertemplate``, a title,
  an annotation): HTML special characters, ``$`` (MathJax) and ``%`` (hovertemplate variables)
  become numeric character references, which Plotly decodes back to the literal character when
  it draws.
* :func:`safe_figure` — applied to every figure before it is drawn (``ui.chart`` does it): escapes
  the strings in the data arrays (``x``, ``y``, ``text``, ``hovertext``, ``customdata``,
  ``labels``, ``parents``) and the trace names with :func:`plotly_text`. Builders therefore pass
  raw names as data and trace names, and wrap names they put into templates or titles in
  :func:`plotly_text`.

Tables (``st.dataframe``) show cell values as text already; nothing to do there.
Import: ``from dashboards.charts.text import md, plotly_text, safe_figure``.
"""

from __future__ import annotations

import re
import string
from typing import Any

import plotly.graph_objects as go

_MD_SPECIAL = re.compile("([" + re.escape(string.punctuation) + "])")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")
_PLOTLY_SPECIAL = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "$": "&#36;", "%": "&#37;"}
_PLOTLY_RE = re.compile("[&<>\"'$%]")
_DONE = "_gatewaylens_safe"

# Trace attributes that carry data values shown as text (ticks, legend, hover, labels).
TEXT_ARRAYS = ("x", "y", "text", "hovertext", "customdata", "labels", "parents")


_AUTOLINK = re.compile(r"(?<=:)(?=//)|(?<=www)(?=\.)|(?<=@)", re.IGNORECASE)
WORD_JOINER = "\u2060"


def md(value: Any) -> str:
    """``value`` as literal text inside Streamlit markdown."""
    text = _AUTOLINK.sub(WORD_JOINER, _LINE_BREAKS.sub(" ", str(value)))
    return _MD_SPECIAL.sub(r"\\\1", text)


def plotly_text(value: Any) -> str:
    """``value`` as literal text inside a Plotly string (name, template, title, tick label)."""
    return _PLOTLY_RE.sub(lambda m: _PLOTLY_SPECIAL[m.group()], str(value))


def _escape_values(values: Any) -> Any:
    if isinstance(values, str):
        return plotly_text(values)
    if isinstance(values, list | tuple):
        return type(values)(_escape_values(v) for v in values)
    if hasattr(values, "dtype") and getattr(values.dtype, "kind", "") in "OUS":  # numpy arrays of text
        return [_escape_values(v) for v in values.tolist()]
    return values


def safe_figure(fig: go.Figure) -> go.Figure:
    """Escape every data string and trace name of ``fig`` in place (once) and return it."""
    if getattr(fig, _DONE, False):
        return fig
    for trace in fig.data:
        if isinstance(getattr(trace, "name", None), str):
            trace.name = plotly_text(trace.name)
        for attr in TEXT_ARRAYS:
            if attr in trace and trace[attr] is not None:
                trace[attr] = _escape_values(trace[attr])
    setattr(fig, _DONE, True)
    return fig
