-- Commands from the console that change what happens on a device or at the CA ("Deploy now", Retry,
-- Redeploy, "Renew now", the first issuance) reach Temporal carrying only the id of the audit entry the
-- console wrote for them. A workflow acts on one only after an activity has checked that entry and
-- claimed it here: each entry is used once. A command without a valid entry is recorded here (not
-- accepted) and in the audit log, and changes nothing.
CREATE TABLE command_claims (
  -- Chosen by the workflow (<workflow id>/<run id>/<command>/<n>): a retried activity finds its own claim.
  claim_id   text PRIMARY KEY,
  -- The audit_log entry. No foreign key: the append-only trigger must be what refuses TRUNCATE of audit_log.
  audit_id   bigint,
  accepted   boolean NOT NULL,
  reason     text,
  claimed_at timestamptz NOT NULL DEFAULT now()
);
-- An audit entry authorises one command, once.
CREATE UNIQUE INDEX command_claims_once ON command_claims (audit_id) WHERE accepted;
