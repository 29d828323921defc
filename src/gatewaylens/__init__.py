"""gatewaylens: usage analytics over LLM-gateway request logs.

The library holds every piece of logic (formats, ingest, SQL marts, generator, CLI);
``pipelines/`` (Dagster) and ``dashboards/`` (Streamlit) are thin shells over it.
"""

__version__ = "0.1.0"
