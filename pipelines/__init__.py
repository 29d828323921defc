"""The gatewaylens Dagster project: thin assets over the `gatewaylens` library."""
