-- When a device refused our session because someone else holds it, and whether the alert went out.
ALTER TABLE targets ADD COLUMN busy_since timestamptz;
ALTER TABLE targets ADD COLUMN busy_alerted_at timestamptz;
