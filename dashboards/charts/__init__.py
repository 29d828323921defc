"""Pure figure builders (frame in, plotly figure out) and read-only data access for the views."""
