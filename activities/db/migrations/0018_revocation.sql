-- Revocation (RFC 8555 §7.6) and ACME account key rollover (RFC 8555 §7.3.5).

-- What the CA confirmed: a version is revoked once, with the RFC 5280 reason code it was revoked for.
ALTER TABLE certificate_versions
  ADD COLUMN revoked_at        timestamptz,
  ADD COLUMN revocation_reason smallint CHECK (revocation_reason IN (0, 1, 3, 4, 5));

-- One row per revocation asked for in the console or the API. A key compromise of the current version
-- first issues and deploys a replacement (status 'replacing', then 'waiting' until every target serves
-- it); 'held' means the old version was NOT revoked, and `detail` says why and what to do.
CREATE TABLE revocations (
  id                     bigserial PRIMARY KEY,
  certificate_id         bigint NOT NULL REFERENCES certificates (id),
  version_id             bigint NOT NULL REFERENCES certificate_versions (id),
  reason                 smallint NOT NULL CHECK (reason IN (0, 1, 3, 4, 5)),
  -- Issue, deploy and verify a replacement with a new key before revoking.
  replace                boolean NOT NULL,
  -- The console's audit entries: the revocation itself, and (replace only) the replacement run.
  audit_id               bigint NOT NULL,
  renew_audit_id         bigint,
  status                 text NOT NULL DEFAULT 'requested'
                           CHECK (status IN ('requested', 'replacing', 'waiting', 'revoked', 'held', 'failed')),
  detail                 text,
  replacement_version_id bigint REFERENCES certificate_versions (id),
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now()
);
-- One revocation in progress per version.
CREATE UNIQUE INDEX revocations_active_per_version ON revocations (version_id)
  WHERE status IN ('requested', 'replacing', 'waiting');
CREATE INDEX revocations_by_certificate ON revocations (certificate_id, id DESC);

-- Key rollover: the new key is generated and stored sealed here first, then rolled over at the CA, then
-- promoted to key_encrypted. A retry after a crash at any point converges (activities/acme/key-rollover.ts).
ALTER TABLE acme_accounts
  ADD COLUMN pending_key_encrypted text,
  ADD COLUMN key_rolled_over_at    timestamptz;
