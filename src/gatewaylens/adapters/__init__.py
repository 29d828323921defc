"""Adapters: turn third-party request traces into canonical JSONL lines (then `gatewaylens ingest`)."""
