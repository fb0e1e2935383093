-- ACME Renewal Information (ARI, RFC 9773; issue 15 item 2). One row per certificate: what the CA's
-- renewalInfo said about its current version (version_id, cert_id), the moment chosen at random in the
-- suggested window (renew_at), and when the CA may be asked again (next_poll_at, from its Retry-After,
-- bounded). kind 'unsupported': the directory has no renewalInfo; 'error': the CA's answer was unusable
-- (error says why). In both cases the lifetime rule decides. A row for an older version is stale: the
-- next check polls at once.
CREATE TABLE certificate_renewal_info (
  certificate_id  bigint PRIMARY KEY REFERENCES certificates (id),
  version_id      bigint NOT NULL REFERENCES certificate_versions (id),
  cert_id         text NOT NULL,
  kind            text NOT NULL CHECK (kind IN ('window', 'unsupported', 'error')),
  window_start    timestamptz,
  window_end      timestamptz,
  renew_at        timestamptz,
  explanation_url text,
  error           text,
  polled_at       timestamptz NOT NULL,
  next_poll_at    timestamptz NOT NULL
);

-- The ARI certID a renewal order named in `replaces` (RFC 9773 §5), and the CA's problem when it refused
-- it (the order was then placed again without `replaces`).
ALTER TABLE acme_orders ADD COLUMN replaces text, ADD COLUMN replaces_refused text;
