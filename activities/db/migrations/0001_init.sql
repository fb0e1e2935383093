-- CertFleet initial schema. Secrets are stored only as AES-256-GCM "secret box" strings (see activities/crypto/secret-box.ts).

CREATE TABLE users (
  id            bigserial PRIMARY KEY,
  username      text NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 64),
  password_hash text NOT NULL,
  role          text NOT NULL CHECK (role IN ('admin', 'technician', 'readonly')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_login_at timestamptz
);

CREATE TABLE settings (
  key        text PRIMARY KEY,
  value      jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE acme_directories (
  id            bigserial PRIMARY KEY,
  name          text NOT NULL UNIQUE,
  url           text NOT NULL UNIQUE,
  ca_bundle_pem text,
  builtin       boolean NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL DEFAULT now()
);

INSERT INTO acme_directories (name, url, builtin) VALUES
  ('Let''s Encrypt', 'https://acme-v02.api.letsencrypt.org/directory', true),
  ('Let''s Encrypt (staging)', 'https://acme-staging-v02.api.letsencrypt.org/directory', true);

CREATE TABLE acme_accounts (
  id            bigserial PRIMARY KEY,
  directory_id  bigint NOT NULL UNIQUE REFERENCES acme_directories (id) ON DELETE RESTRICT,
  email         text,
  key_encrypted text NOT NULL,
  account_url   text,
  created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE dns_providers (
  id              bigserial PRIMARY KEY,
  name            text NOT NULL UNIQUE,
  kind            text NOT NULL,
  config          jsonb NOT NULL DEFAULT '{}'::jsonb,
  token_encrypted text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE certificates (
  id                 bigserial PRIMARY KEY,
  common_name        text NOT NULL,
  dns_provider_id    bigint NOT NULL REFERENCES dns_providers (id) ON DELETE RESTRICT,
  acme_directory_id  bigint NOT NULL REFERENCES acme_directories (id) ON DELETE RESTRICT,
  key_type           text NOT NULL CHECK (key_type IN ('ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096')),
  renewal_mode       text NOT NULL DEFAULT 'fraction' CHECK (renewal_mode IN ('fraction', 'days', 'percent')),
  renewal_value      integer CHECK (renewal_value IS NULL OR renewal_value > 0),
  enabled            boolean NOT NULL DEFAULT true,
  status             text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'issuing', 'valid', 'failed')),
  last_error         text,
  last_checked_at    timestamptz,
  current_version_id bigint,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  deleted_at         timestamptz
);
CREATE UNIQUE INDEX certificates_live_name ON certificates (common_name) WHERE deleted_at IS NULL;

-- One row per ACME order; the private key is generated and sealed before finalization so that a
-- crashed finalize can be resumed with the same key (idempotent issuance).
CREATE TABLE acme_orders (
  id               bigserial PRIMARY KEY,
  certificate_id   bigint NOT NULL REFERENCES certificates (id),
  workflow_id      text NOT NULL,
  run_id           text NOT NULL UNIQUE,
  order_url        text NOT NULL,
  status           text NOT NULL,
  key_encrypted    text NOT NULL,
  txt_record_name  text,
  txt_values       text[] NOT NULL DEFAULT '{}',
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE certificate_versions (
  id                 bigserial PRIMARY KEY,
  certificate_id     bigint NOT NULL REFERENCES certificates (id),
  order_id           bigint NOT NULL UNIQUE REFERENCES acme_orders (id),
  serial_hex         text NOT NULL,
  fingerprint_sha256 text NOT NULL,
  not_before         timestamptz NOT NULL,
  not_after          timestamptz NOT NULL,
  key_type           text NOT NULL,
  cert_pem           text NOT NULL,
  chain_pem          text NOT NULL,
  key_encrypted      text NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX certificate_versions_by_cert ON certificate_versions (certificate_id, created_at DESC);

ALTER TABLE certificates
  ADD CONSTRAINT certificates_current_version_fk FOREIGN KEY (current_version_id) REFERENCES certificate_versions (id);

CREATE TABLE audit_log (
  id          bigserial PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  actor       text NOT NULL,
  actor_ip    text,
  action      text NOT NULL,
  entity_type text NOT NULL,
  entity_id   text,
  before      jsonb,
  after       jsonb
);
CREATE INDEX audit_log_at ON audit_log (at DESC);

-- The audit log is append-only: the database refuses UPDATE, DELETE and TRUNCATE.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- express-session store (connect-pg-simple layout).
CREATE TABLE web_sessions (
  sid    varchar NOT NULL PRIMARY KEY,
  sess   json NOT NULL,
  expire timestamp(6) NOT NULL
);
CREATE INDEX web_sessions_expire ON web_sessions (expire);
