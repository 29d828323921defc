-- gatewaylens warehouse: base tables (the canonical schema).
-- Column order and types match src/gatewaylens/schema.py (tests/test_schema.py checks it).
-- Safe to run repeatedly.

CREATE TABLE IF NOT EXISTS requests (
    request_id           VARCHAR NOT NULL,
    ts                   TIMESTAMPTZ NOT NULL,
    day                  DATE NOT NULL,
    source_format        VARCHAR NOT NULL,
    app                  VARCHAR,
    user_hash            VARCHAR,
    model                VARCHAR NOT NULL,
    provider             VARCHAR,
    status               VARCHAR NOT NULL,
    http_status          INTEGER,
    error_type           VARCHAR,
    finish_reason        VARCHAR NOT NULL,
    native_finish_reason VARCHAR,
    tools_offered        BOOLEAN,
    tool_call_count      INTEGER NOT NULL,
    input_tokens         BIGINT NOT NULL,
    cached_tokens        BIGINT,
    output_tokens        BIGINT NOT NULL,
    reasoning_tokens     BIGINT,
    cost_usd             DOUBLE,
    latency_ms           DOUBLE,
    ttft_ms              DOUBLE,
    streamed             BOOLEAN,
    attempts             INTEGER NOT NULL,
    source_file          VARCHAR NOT NULL,
    line_no              BIGINT NOT NULL,
    ingested_at          TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS provider_attempts (
    request_id  VARCHAR NOT NULL,
    attempt_no  INTEGER NOT NULL,
    provider    VARCHAR NOT NULL,
    http_status INTEGER,
    latency_ms  DOUBLE,
    ts          TIMESTAMPTZ NOT NULL,
    day         DATE NOT NULL
);

CREATE TABLE IF NOT EXISTS quarantine (
    source_file VARCHAR NOT NULL,
    line_no     BIGINT NOT NULL,
    raw_line    VARCHAR NOT NULL,
    reason      VARCHAR NOT NULL,
    detail      VARCHAR,
    source_format VARCHAR,
    ingested_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS ingested_files (
    path           VARCHAR NOT NULL,
    content_sha256 VARCHAR NOT NULL,
    bytes          BIGINT NOT NULL,
    lines          BIGINT NOT NULL,
    rows_inserted  BIGINT NOT NULL,
    duplicates     BIGINT NOT NULL,
    quarantined    BIGINT NOT NULL,
    merged         BIGINT NOT NULL,
    ingested_at    TIMESTAMPTZ NOT NULL,
    records        BIGINT
);

-- Added after the first release: warehouses created before it get the column here (last, as in
-- the CREATE above), and their earlier rows get records = lines, which held then (one record
-- per line).
ALTER TABLE ingested_files ADD COLUMN IF NOT EXISTS records BIGINT;
UPDATE ingested_files SET records = lines WHERE records IS NULL;
