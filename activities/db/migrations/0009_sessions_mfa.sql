-- Sessions that end, lockout by (user name, address), API token expiry and TOTP MFA (issue 11, items 3, 6 and 7).

-- Bumped by everything that must end a user's sessions and API tokens: a password change or reset, a role
-- change, disabling, an MFA reset, "sign out everywhere", "end sessions". A session remembers the version it
-- was signed in with; the web checks it on every request.
ALTER TABLE users ADD COLUMN credential_version integer NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN disabled_at timestamptz;

-- TOTP (RFC 6238): the secret sealed with the master key (purpose users.mfa_secret); enabled once confirmed
-- with a code. The last accepted time step refuses a replayed code.
ALTER TABLE users ADD COLUMN mfa_secret_sealed text;
ALTER TABLE users ADD COLUMN mfa_enabled_at timestamptz;
ALTER TABLE users ADD COLUMN mfa_last_step bigint;

-- One-time recovery codes: only their SHA-256 (each code is 50 random bits, used once, behind the password).
CREATE TABLE mfa_recovery_codes (
  id        bigserial PRIMARY KEY,
  user_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  code_hash text NOT NULL CHECK (code_hash ~ '^[0-9a-f]{64}$'),
  used_at   timestamptz
);
CREATE INDEX mfa_recovery_codes_by_user ON mfa_recovery_codes (user_id);

-- Lockout by user name AND address: failures from one address lock that pair only, so nobody elsewhere
-- can lock an admin out. Keyed by the name as typed (no foreign key): unknown names are counted and locked
-- exactly like known ones, so the answers do not tell which names exist.
CREATE TABLE login_failures (
  username     text NOT NULL CHECK (length(username) BETWEEN 1 AND 64),
  address      text NOT NULL CHECK (length(address) BETWEEN 1 AND 64),
  failures     integer NOT NULL DEFAULT 0,
  locked_until timestamptz,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (username, address)
);
CREATE INDEX login_failures_by_age ON login_failures (updated_at);
ALTER TABLE users DROP COLUMN failed_logins;
ALTER TABLE users DROP COLUMN locked_until;

-- API tokens: an optional expiry, and why a token was revoked (shown in the list and in the 401).
ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz;
ALTER TABLE api_tokens ADD COLUMN revoked_reason text CHECK (length(revoked_reason) <= 200);
