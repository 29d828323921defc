-- macros: SQL functions the mart SELECTs may call (the runner creates them on every connection
-- before a build; in the DuckDB CLI `.read src/gatewaylens/sql/macros.sql` once per session).
-- Keep this file to pure scalar macros: the Spark engine translates each to a SQL function.
--   gl_wilson_low(x, n) / gl_wilson_high(x, n): Wilson 95% score interval of x successes in n trials
--   (NULL when n = 0); z = 1.959963984540054. n * n in DOUBLE: a 64-bit integer (Spark's) overflows past n = 1.5e9.

CREATE OR REPLACE TEMP MACRO gl_wilson_low(x, n) AS
    CASE WHEN n > 0 THEN greatest(0.0,
        (x / n + 1.959963984540054 ^ 2 / (2 * n)
         - 1.959963984540054 * sqrt((x / n) * (1 - x / n) / n + 1.959963984540054 ^ 2 / (4 * CAST(n AS DOUBLE) * n)))
        / (1 + 1.959963984540054 ^ 2 / n)) END;

CREATE OR REPLACE TEMP MACRO gl_wilson_high(x, n) AS
    CASE WHEN n > 0 THEN least(1.0,
        (x / n + 1.959963984540054 ^ 2 / (2 * n)
         + 1.959963984540054 * sqrt((x / n) * (1 - x / n) / n + 1.959963984540054 ^ 2 / (4 * CAST(n AS DOUBLE) * n)))
        / (1 + 1.959963984540054 ^ 2 / n)) END;

