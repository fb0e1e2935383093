-- Rate-limit pacing (issue 15 item 5) and fallback ACME directories (item 6).

-- Budgets per ACME directory (one ACME account per directory). Defaults: Let's Encrypt's published
-- limits (https://letsencrypt.org/docs/rate-limits/): 300 new orders per account per 3 hours,
-- 50 certificates per registered domain per week, 5 duplicate certificates (same identifier set) per week.
-- Fallback: the directories tried next, in order, when this one is down, hangs or keeps refusing for
-- CA-side reasons for longer than fallback_after_seconds.
ALTER TABLE acme_directories
  ADD COLUMN orders_per_account           integer NOT NULL DEFAULT 300 CHECK (orders_per_account > 0),
  ADD COLUMN account_window_seconds       integer NOT NULL DEFAULT 10800 CHECK (account_window_seconds > 0),
  ADD COLUMN certificates_per_domain      integer NOT NULL DEFAULT 50 CHECK (certificates_per_domain > 0),
  ADD COLUMN duplicates_per_identifiers   integer NOT NULL DEFAULT 5 CHECK (duplicates_per_identifiers > 0),
  ADD COLUMN domain_window_seconds        integer NOT NULL DEFAULT 604800 CHECK (domain_window_seconds > 0),
  ADD COLUMN fallback_directory_ids       bigint[] NOT NULL DEFAULT '{}',
  ADD COLUMN fallback_after_seconds       integer NOT NULL DEFAULT 900 CHECK (fallback_after_seconds > 0);

-- NULL: the directory's own fallback list.
ALTER TABLE certificates ADD COLUMN fallback_directory_ids bigint[];

-- The ledger of orders spent (or about to be) per directory: one row per workflow run and directory,
-- so a retried reservation takes no second slot. Exempt rows (ARI renewals the CA does not count) are
-- recorded but never counted. Rows older than the longest window are no longer read.
CREATE TABLE acme_order_slots (
  id                bigserial PRIMARY KEY,
  directory_id      bigint NOT NULL REFERENCES acme_directories (id) ON DELETE CASCADE,
  certificate_id    bigint NOT NULL REFERENCES certificates (id),
  run_id            text NOT NULL,
  registered_domain text NOT NULL,
  -- The exact identifier set, lower case, sorted, comma-joined (duplicate certificates).
  identifiers       text NOT NULL,
  exempt            boolean NOT NULL,
  spent_at          timestamptz NOT NULL DEFAULT now(),
  UNIQUE (run_id, directory_id)
);
CREATE INDEX acme_order_slots_by_directory ON acme_order_slots (directory_id, spent_at);

-- A run waiting for a budget to free (shown on the certificate page and the dashboard).
ALTER TABLE certificates
  ADD COLUMN rate_limit_wait_until  timestamptz,
  ADD COLUMN rate_limit_wait_reason text;

-- Which directory an order went to (a run that falls over has one order per directory tried), and so
-- which CA issued a version.
ALTER TABLE acme_orders ADD COLUMN directory_id bigint REFERENCES acme_directories (id);
UPDATE acme_orders o SET directory_id = c.acme_directory_id FROM certificates c WHERE c.id = o.certificate_id;
ALTER TABLE acme_orders ALTER COLUMN directory_id SET NOT NULL;
-- An insert that names no directory (older code, fixtures) means the certificate's own.
CREATE FUNCTION acme_orders_default_directory() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.directory_id IS NULL THEN
    SELECT acme_directory_id INTO NEW.directory_id FROM certificates WHERE id = NEW.certificate_id;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER acme_orders_default_directory BEFORE INSERT ON acme_orders
  FOR EACH ROW EXECUTE FUNCTION acme_orders_default_directory();
ALTER TABLE acme_orders DROP CONSTRAINT acme_orders_run_id_key;
CREATE UNIQUE INDEX acme_orders_run_directory ON acme_orders (run_id, directory_id);
