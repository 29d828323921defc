-- app_dimensions_daily
-- Grain: one row per (day, app, team, tags) with requests: which team and tags each app's
-- requests carried (LiteLLM team alias and request_tags, OTel/metadata tags, canonical team/tags).
-- It backs the dashboard's Team and Tags filters: the marts are per app, so a team or tag
-- selection keeps the apps whose requests carried it in the period (whole apps), and this mart
-- says how much of those apps' traffic really carried it (the filter's coverage).
--   tags = the request's tag list as logged (NULL when none); a request counts once, in the row of
--          its own list.
-- Caveats: team is NULL where the source has no team; an app whose requests carry several teams
-- or tag lists has one row per combination.

SELECT
    r.day,                                                     -- UTC day of the requests (partition).
    coalesce(r.app, '(unknown)') AS app,                       -- Calling application; '(unknown)' when not logged.
    r.team,                                                    -- Team the requests were logged under (NULL: none).
    r.tags,                                                    -- Tag list of the requests (NULL: none logged).
    count(*) AS requests                                       -- Requests with this app, team and tag list.
FROM requests r
WHERE r.day BETWEEN getvariable('start_day') AND getvariable('end_day')
GROUP BY ALL
ORDER BY 1, 2, 3, 4;
