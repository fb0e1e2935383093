-- Circuit breakers: the health of each dependency outside CertFleet, shared by every worker process.
-- `key` names the dependency: acme-directory:<id>, dns-provider:<id>, device:<targetId>. `state`:
--   closed     calls go through (failures counts consecutive transport failures and timeouts);
--   open       calls fail fast with "<kind> not answering" until next_probe;
--   half-open  one call (the probe) is on its way; the others still fail fast until it ends or next_probe passes.
CREATE TABLE dependency_health (
  key        text PRIMARY KEY,
  kind       text NOT NULL CHECK (kind IN ('acme-directory', 'dns-provider', 'device')),
  label      text NOT NULL,
  state      text NOT NULL DEFAULT 'closed' CHECK (state IN ('closed', 'open', 'half-open')),
  since      timestamptz NOT NULL DEFAULT now(),
  failures   integer NOT NULL DEFAULT 0,
  last_error text,
  next_probe timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dependency_health_not_closed ON dependency_health (since) WHERE state <> 'closed';

-- One incident per dependency outage (key dependency:<key>), whatever the number of runs it holds up.
ALTER TABLE incidents DROP CONSTRAINT incidents_kind_check;
ALTER TABLE incidents ADD CONSTRAINT incidents_kind_check
  CHECK (kind IN ('renewal-failed', 'deploy-failed', 'not-deployed', 'drift', 'served-expiring', 'dependency-down'));
