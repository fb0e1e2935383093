-- CNAME delegation of the DNS-01 challenge (issue 16): the customer points _acme-challenge.<name> at a
-- name in a zone the MSP controls, once, and never hands over DNS credentials.

-- Set when this customer's DNS is not ours: the zone (served by the certificate's DNS provider) that
-- _acme-challenge.<name> must be a CNAME into. Orders wait for that CNAME; without it none is spent.
ALTER TABLE certificates ADD COLUMN delegation_zone text;

-- Where an order's TXT record was written: the CNAME target of txt_record_name, or null for the name
-- itself. Resolved once when the record is presented, so the propagation check and the cleanup use
-- the same name even if the CNAME changes meanwhile.
ALTER TABLE acme_orders ADD COLUMN txt_target_name text;
