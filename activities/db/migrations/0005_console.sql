-- The console: customers (MSP grouping), per-user API tokens, login lockout, and the indexes the
-- console's lists need at fleet size (see bench/console.ts).

CREATE TABLE customers (
  id         bigserial PRIMARY KEY,
  name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  notes      text NOT NULL DEFAULT '' CHECK (length(notes) <= 2000),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
CREATE UNIQUE INDEX customers_live_name ON customers (lower(name)) WHERE deleted_at IS NULL;

-- Everything that existed before customers belongs to one first customer, renamed at will.
INSERT INTO customers (name) VALUES ('Default');

ALTER TABLE certificates ADD COLUMN customer_id bigint REFERENCES customers (id);
UPDATE certificates SET customer_id = (SELECT min(id) FROM customers);
ALTER TABLE certificates ALTER COLUMN customer_id SET NOT NULL;

ALTER TABLE targets ADD COLUMN customer_id bigint REFERENCES customers (id);
UPDATE targets SET customer_id = (SELECT min(id) FROM customers);
ALTER TABLE targets ALTER COLUMN customer_id SET NOT NULL;

-- API tokens: only the SHA-256 of the token is stored (tokens are 256 random bits, so a fast hash is enough).
CREATE TABLE api_tokens (
  id           bigserial PRIMARY KEY,
  user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
  token_hash   text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  -- The first characters of the token, shown so a user can tell tokens apart.
  prefix       text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at   timestamptz
);
CREATE INDEX api_tokens_by_user ON api_tokens (user_id, id);

-- Login lockout: consecutive failures and until when the account refuses sign-ins.
ALTER TABLE users ADD COLUMN failed_logins integer NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until timestamptz;

-- Dashboard, lists and filters.
CREATE INDEX certificates_live_by_customer ON certificates (customer_id) WHERE deleted_at IS NULL;
CREATE INDEX certificates_live_by_status ON certificates (status) WHERE deleted_at IS NULL;
CREATE INDEX targets_live_by_customer ON targets (customer_id) WHERE deleted_at IS NULL;
CREATE INDEX deployments_by_certificate ON deployments (certificate_id) WHERE deleted_at IS NULL;
CREATE INDEX deployments_by_target ON deployments (target_id) WHERE deleted_at IS NULL;
CREATE INDEX deployments_failed ON deployments (updated_at DESC) WHERE deleted_at IS NULL AND status = 'failed';
CREATE INDEX deployment_runs_by_outcome ON deployment_runs (outcome, id DESC);
CREATE INDEX audit_log_by_actor ON audit_log (actor, id DESC);
CREATE INDEX audit_log_by_entity ON audit_log (entity_type, entity_id, id DESC);
CREATE INDEX audit_log_by_action ON audit_log (action, id DESC);

-- What Temporal says about each renewal schedule, refreshed by the worker's schedule-health check.
CREATE TABLE schedule_health (
  schedule_id     text PRIMARY KEY,
  certificate_id  bigint,
  paused          boolean NOT NULL,
  note            text,
  skipped_overlap integer NOT NULL DEFAULT 0,
  missed_catchup  integer NOT NULL DEFAULT 0,
  last_action_at  timestamptz,
  next_action_at  timestamptz,
  checked_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX schedule_health_by_certificate ON schedule_health (certificate_id);

-- DNS providers can be deleted once no live certificate uses them; history keeps the row.
ALTER TABLE dns_providers ADD COLUMN deleted_at timestamptz;
ALTER TABLE dns_providers DROP CONSTRAINT dns_providers_name_key;
CREATE UNIQUE INDEX dns_providers_live_name ON dns_providers (name) WHERE deleted_at IS NULL;
