-- A slot for a renewal (the exact identifier set the CA issued before): Let's Encrypt does not count
-- renewals against "New Certificates per Registered Domain" (only against the duplicate limit).
ALTER TABLE acme_order_slots ADD COLUMN renewal boolean NOT NULL DEFAULT false;
