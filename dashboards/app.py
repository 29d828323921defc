"""gatewaylens dashboard: a router only. Run: streamlit run dashboards/app.py"""

from pathlib import Path

import streamlit as st

HERE = Path(__file__).parent

st.set_page_config(page_title="gatewaylens", page_icon=":material/insights:", layout="wide")

pages = {
    "Adoption": [
        st.Page(HERE / "views" / "overview.py", title="Overview", icon=":material/trending_up:", default=True),
    ],
}

st.navigation(pages).run()
