-- Issue 16: a DNS provider has any number of secret fields (key id + secret, TSIG name + key), each
-- sealed on its own, and may belong to one customer (NULL: shared by every customer).

-- field name → sealed value (AES-256-GCM under the master key, bound to the provider's endpoint).
ALTER TABLE dns_providers ADD COLUMN secrets_encrypted jsonb NOT NULL DEFAULT '{}'::jsonb
  CHECK (jsonb_typeof(secrets_encrypted) = 'object');
-- The one token a provider had becomes its `token` field, sealed as it was (same purpose and endpoint).
UPDATE dns_providers SET secrets_encrypted = jsonb_build_object('token', token_encrypted);
ALTER TABLE dns_providers DROP COLUMN token_encrypted;

ALTER TABLE dns_providers ADD COLUMN customer_id bigint REFERENCES customers (id) ON DELETE RESTRICT;
CREATE INDEX dns_providers_customer ON dns_providers (customer_id) WHERE deleted_at IS NULL;
