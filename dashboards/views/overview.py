"""Overview: is agent adoption growing?"""

import streamlit as st

from dashboards.charts import data
from dashboards.charts.figures import build_tool_call_rate_figure

PAGE = "overview"

st.title("Agent adoption overview")

if not data.has_table("tool_call_rate_daily"):
    st.info(data.NO_DATA)
    st.stop()

frame = data.query(
    "SELECT day, model, provider, sum(successful_requests) AS successful_requests, "
    "sum(tool_call_requests) AS tool_call_requests FROM tool_call_rate_daily GROUP BY ALL ORDER BY day"
)
if frame.height == 0:
    st.info(data.NO_DATA)
    st.stop()

total_success = int(frame["successful_requests"].sum())
total_tools = int(frame["tool_call_requests"].sum())
c1, c2 = st.columns(2)
c1.metric("Successful requests", f"{total_success:,}")
c2.metric("Tool-call rate", f"{total_tools / total_success:.1%}" if total_success else "n/a")

fig = build_tool_call_rate_figure(frame, by="model")
st.plotly_chart(fig, use_container_width=True, key=f"{PAGE}.tool_call_rate")
st.download_button("Download CSV", frame.write_csv(), file_name="tool_call_rate.csv", key=f"{PAGE}.csv")
