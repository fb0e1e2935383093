-- The wire transcript of a deploy run (issue 12 item 5): the redacted requests and responses (HTTPS
-- APIs) or commands and outputs (SSH) of each step, for a bug report when a real device answers
-- unlike our fakes. Written by the activities (never through Temporal history); each step keeps its
-- last 200 exchanges (a run its last 1000); the transcript of a run that deployed is deleted when the run finishes, so only
-- failed and rolled-back runs keep one.
CREATE TABLE deployment_run_exchanges (
  id       bigserial PRIMARY KEY,
  run_id   bigint NOT NULL REFERENCES deployment_runs (id) ON DELETE CASCADE,
  step     text NOT NULL,
  at       timestamptz NOT NULL,
  exchange text NOT NULL
);
CREATE INDEX deployment_run_exchanges_by_run ON deployment_run_exchanges (run_id, id);
