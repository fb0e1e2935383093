-- Alerts that cannot be missed: incidents (one alert each, deduplicated), recipients per customer,
-- the outcome of every renewal run (metrics), drift watch results per endpoint, maintenance windows.

ALTER TABLE customers ADD COLUMN alert_recipients text[] NOT NULL DEFAULT '{}';

-- One row per incident. `key` names what it is about (renewal:<certificate>, deploy:<deployment>,
-- not-deployed:<deployment>, drift:<deployment>:<endpoint>, served-expiring:<deployment>:<endpoint>);
-- at most one incident per key is open, so a repeated failure only counts, it does not alert again.
CREATE TABLE incidents (
  id               bigserial PRIMARY KEY,
  key              text NOT NULL,
  kind             text NOT NULL CHECK (kind IN ('renewal-failed', 'deploy-failed', 'not-deployed', 'drift', 'served-expiring')),
  certificate_id   bigint REFERENCES certificates (id),
  deployment_id    bigint REFERENCES deployments (id),
  customer_id      bigint REFERENCES customers (id),
  title            text NOT NULL,
  detail           text NOT NULL,
  opened_at        timestamptz NOT NULL DEFAULT now(),
  last_seen_at     timestamptz NOT NULL DEFAULT now(),
  occurrences      integer NOT NULL DEFAULT 1,
  alert_sent_at    timestamptz,
  -- Whoever sends an email claims it first, so a sweep running meanwhile never sends it twice; a
  -- claim older than a few minutes (the sender died) may be taken over.
  alert_claimed_at timestamptz,
  -- When it looked fixed. The recovery notice waits for a quiet period: a target that fails again
  -- meanwhile (flapping) stays in the same incident and sends nothing more.
  recovering_since timestamptz,
  resolved_at      timestamptz,
  recovery_sent_at timestamptz,
  recovery_claimed_at timestamptz
);
CREATE UNIQUE INDEX incidents_open_key ON incidents (key) WHERE resolved_at IS NULL;
CREATE INDEX incidents_open ON incidents (opened_at DESC) WHERE resolved_at IS NULL;
CREATE INDEX incidents_alert_pending ON incidents (id) WHERE alert_sent_at IS NULL;
CREATE INDEX incidents_recovering ON incidents (recovering_since) WHERE resolved_at IS NULL AND recovering_since IS NOT NULL;

-- The end of every renewal run that did something (not the checks that found nothing due).
CREATE TABLE lifecycle_runs (
  id             bigserial PRIMARY KEY,
  certificate_id bigint NOT NULL REFERENCES certificates (id),
  workflow_id    text NOT NULL,
  run_id         text NOT NULL UNIQUE,
  trigger        text NOT NULL,
  outcome        text NOT NULL CHECK (outcome IN ('issued', 'partial', 'failed')),
  reason         text,
  started_at     timestamptz NOT NULL,
  ended_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lifecycle_runs_by_certificate ON lifecycle_runs (certificate_id, id DESC);

-- What each deployment's endpoints served at the last drift watch check (one row per endpoint).
CREATE TABLE endpoint_checks (
  deployment_id      bigint NOT NULL REFERENCES deployments (id),
  endpoint           text NOT NULL,
  host               text NOT NULL,
  port               integer NOT NULL,
  servername         text,
  checked_at         timestamptz NOT NULL DEFAULT now(),
  state              text NOT NULL CHECK (state IN ('match', 'drift', 'expiring', 'unreachable')),
  fingerprint_sha256 text,
  subject            text,
  issuer             text,
  not_after          timestamptz,
  detail             text,
  PRIMARY KEY (deployment_id, endpoint)
);
CREATE INDEX endpoint_checks_problems ON endpoint_checks (checked_at DESC) WHERE state <> 'match';
CREATE INDEX endpoint_checks_not_after ON endpoint_checks (not_after);

-- Weekly maintenance windows in the target's time zone; NULL: deploy at any time.
-- {"timeZone": "Europe/Berlin", "windows": [{"days": ["sat", "sun"], "start": "02:00", "end": "05:00"}]}
ALTER TABLE targets ADD COLUMN maintenance jsonb;

-- A deploy that waits for its target's next maintenance window.
ALTER TABLE deployments DROP CONSTRAINT deployments_status_check;
ALTER TABLE deployments ADD CONSTRAINT deployments_status_check CHECK (status IN ('pending', 'waiting', 'deploying', 'ready', 'deployed', 'failed'));
