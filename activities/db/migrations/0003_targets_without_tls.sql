-- SSH targets (host key pinned in their options) and manual targets have no management TLS to
-- trust: at most one of a CA or a pinned fingerprint; the console requires one for HTTPS vendors.
ALTER TABLE targets DROP CONSTRAINT targets_check;
ALTER TABLE targets ADD CONSTRAINT targets_one_trust CHECK (trust_ca_pem IS NULL OR trust_fingerprint IS NULL);

-- Manual targets: a version waits as "ready for download" until a technician marks it done.
ALTER TABLE deployments DROP CONSTRAINT deployments_status_check;
ALTER TABLE deployments ADD CONSTRAINT deployments_status_check CHECK (status IN ('pending', 'deploying', 'ready', 'deployed', 'failed'));
ALTER TABLE deployment_runs DROP CONSTRAINT deployment_runs_outcome_check;
ALTER TABLE deployment_runs ADD CONSTRAINT deployment_runs_outcome_check CHECK (outcome IN ('running', 'ready', 'deployed', 'rolled_back', 'failed'));
