-- A deploy waiting for its target's maintenance window: when the window opens, and the time zone the
-- windows are written in, so every page can say "waiting until Sat 12 Dec 02:00 (Europe/Berlin)".
-- Meaningful only while status = 'waiting' (readers check the status; nothing else has to clear them).
ALTER TABLE deployments ADD COLUMN waiting_until timestamptz, ADD COLUMN waiting_time_zone text;
