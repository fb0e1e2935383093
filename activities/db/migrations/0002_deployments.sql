-- Deploy targets, certificate → target deployments, and the history of every deployment run.

CREATE TABLE targets (
  id                      bigserial PRIMARY KEY,
  name                    text NOT NULL,
  vendor                  text NOT NULL,
  host                    text NOT NULL,
  port                    integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
  credentials_encrypted   text NOT NULL,
  options                 jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- Trust for the device's management TLS: exactly one of a CA (PEM) or a pinned SHA-256 fingerprint.
  trust_ca_pem            text,
  trust_fingerprint       text CHECK (trust_fingerprint IS NULL OR trust_fingerprint ~ '^[0-9a-f]{64}$'),
  -- A device session key (PAN-OS keygen), sealed.
  session_key_encrypted   text,
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  deleted_at              timestamptz,
  CHECK ((trust_ca_pem IS NOT NULL) <> (trust_fingerprint IS NOT NULL))
);
CREATE UNIQUE INDEX targets_live_name ON targets (name) WHERE deleted_at IS NULL;

CREATE TABLE deployments (
  id                  bigserial PRIMARY KEY,
  certificate_id      bigint NOT NULL REFERENCES certificates (id),
  target_id           bigint NOT NULL REFERENCES targets (id),
  binding             jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- TLS endpoints checked after a deploy: [{host, port, servername?}]; empty = the vendor's default.
  verify_endpoints    jsonb NOT NULL DEFAULT '[]'::jsonb,
  status              text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'deploying', 'deployed', 'failed')),
  last_error          text,
  -- What is live on the device, and what is kept there for rollback.
  current_version_id  bigint REFERENCES certificate_versions (id),
  current_objects     jsonb,
  previous_version_id bigint REFERENCES certificate_versions (id),
  previous_objects    jsonb,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  deleted_at          timestamptz
);
CREATE UNIQUE INDEX deployments_live_pair ON deployments (certificate_id, target_id) WHERE deleted_at IS NULL;

CREATE TABLE deployment_runs (
  id               bigserial PRIMARY KEY,
  deployment_id    bigint NOT NULL REFERENCES deployments (id),
  version_id       bigint NOT NULL REFERENCES certificate_versions (id),
  workflow_id      text NOT NULL,
  run_id           text NOT NULL,
  trigger          text NOT NULL,
  outcome          text NOT NULL DEFAULT 'running' CHECK (outcome IN ('running', 'deployed', 'rolled_back', 'failed')),
  error            text,
  staged_objects   jsonb,
  previous_binding jsonb,
  started_at       timestamptz NOT NULL DEFAULT now(),
  ended_at         timestamptz,
  UNIQUE (workflow_id, run_id)
);
CREATE INDEX deployment_runs_by_deployment ON deployment_runs (deployment_id, id DESC);

CREATE TABLE deployment_run_steps (
  id         bigserial PRIMARY KEY,
  run_id     bigint NOT NULL REFERENCES deployment_runs (id),
  step       text NOT NULL,
  status     text NOT NULL CHECK (status IN ('started', 'succeeded', 'failed')),
  detail     text,
  at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deployment_run_steps_by_run ON deployment_run_steps (run_id, id);
