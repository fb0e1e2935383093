/**
 * A synthetic fleet written straight into PostgreSQL with set-based SQL (generate_series), for list
 * tests and bench/console.ts: customers, targets, certificates with versions spread over expiry,
 * deployments, deployment runs and audit entries. The key columns hold a sealed placeholder, not a key.
 */
import type { Database } from '../../activities/db/pool';

export interface FleetSize {
  customers: number;
  certificates: number;
  /** Targets per customer (vendors cycle through fortigate, panos, f5-bigip, nginx). */
  targetsPerCustomer: number;
  deploymentRuns: number;
  auditEntries: number;
}

export interface SeededFleet {
  customerIds: string[];
  dnsProviderId: string;
  directoryId: string;
}

/** One customer with one certificate and nothing else: spread it and change what a test needs. */
export const ONE_CERTIFICATE: FleetSize = {
  customers: 1,
  certificates: 1,
  targetsPerCustomer: 0,
  deploymentRuns: 0,
  auditEntries: 0,
};

/** One certificate deployed to one target, with one run and one audit entry. */
export const ONE_DEPLOYMENT: FleetSize = {
  customers: 1,
  certificates: 1,
  targetsPerCustomer: 1,
  deploymentRuns: 1,
  auditEntries: 1,
};

export const SEED_VENDORS = ['fortigate', 'panos', 'f5-bigip', 'nginx'] as const;

/** Certificate i (1-based) of the fleet: `cert-<i>.c<customer>.example.test`; its state follows i. */
export async function seedFleet(db: Database, size: FleetSize, sealedPlaceholder: string): Promise<SeededFleet> {
  return db.withTransaction(async (tx) => {
    const [directory] = await tx.query<{ id: string }>('SELECT id FROM acme_directories ORDER BY id LIMIT 1');
    const [provider] = await tx.query<{ id: string }>(
      "INSERT INTO dns_providers (name, kind, config, secrets_encrypted) VALUES ('Seeded Cloudflare', 'cloudflare', '{}', jsonb_build_object('token', $1::text)) RETURNING id",
      [sealedPlaceholder],
    );
    const customers = await tx.query<{ id: string }>(
      "INSERT INTO customers (name) SELECT 'Customer ' || lpad(g::text, 4, '0') FROM generate_series(1, $1) g RETURNING id",
      [size.customers],
    );
    const customerIds = customers.map((c) => c.id);
    await tx.query(
      `INSERT INTO targets (name, vendor, host, port, credentials_encrypted, customer_id, trust_fingerprint)
       SELECT 'fw-' || c.n || '-' || t, ($3::text[])[1 + ((t + c.n) % array_length($3::text[], 1))], 'fw' || t || '.c' || c.n || '.example.test', 443, $2,
              c.id, repeat('ab', 32)
         FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM customers WHERE id = ANY($4::bigint[])) c, generate_series(1, $1) t`,
      [size.targetsPerCustomer, sealedPlaceholder, SEED_VENDORS, customerIds],
    );
    // Certificate g belongs to customer (g mod C); every 40th failed, every 50th not issued yet, every 97th renewal disabled.
    await tx.query(
      `INSERT INTO certificates (common_name, customer_id, dns_provider_id, acme_directory_id, key_type, status, enabled, last_error, created_at)
       SELECT 'cert-' || g || '.c' || (g % $2) || '.example.test', ($3::bigint[])[1 + (g % $2)], $4, $5, 'ecdsa-p256',
              CASE WHEN g % 50 = 0 THEN 'pending' WHEN g % 40 = 0 THEN 'failed' ELSE 'valid' END,
              g % 97 <> 0, CASE WHEN g % 40 = 0 THEN 'acme: validation failed (seeded)' END, now() - (g % 365) * interval '1 day'
         FROM generate_series(1, $1) g`,
      [size.certificates, size.customers, customerIds, provider?.id, directory?.id],
    );
    await tx.query(
      `INSERT INTO acme_orders (certificate_id, workflow_id, run_id, order_url, status, key_encrypted)
       SELECT id, 'certificate:' || id, 'seed-' || id, 'https://acme.invalid/order/' || id, 'valid', $1 FROM certificates WHERE status <> 'pending'`,
      [sealedPlaceholder],
    );
    // Versions expire between 10 days ago and 110 days ahead, spread by id; 90-day lifetimes.
    await tx.query(
      `INSERT INTO certificate_versions (certificate_id, order_id, serial_hex, fingerprint_sha256, not_before, not_after, key_type, cert_pem, chain_pem, key_encrypted)
       SELECT o.certificate_id, o.id, lpad(to_hex(o.id), 16, '0'), md5(o.id::text) || md5(o.certificate_id::text),
              now() + ((o.certificate_id % 120) - 10) * interval '1 day' - interval '90 days', now() + ((o.certificate_id % 120) - 10) * interval '1 day',
              'ecdsa-p256', '-----BEGIN CERTIFICATE-----\nseed\n-----END CERTIFICATE-----\n', '', $1
         FROM acme_orders o`,
      [sealedPlaceholder],
    );
    await tx.query(
      'UPDATE certificates c SET current_version_id = v.id FROM certificate_versions v WHERE v.certificate_id = c.id',
    );
    // Each certificate is deployed to one target of its customer; every 25th deployment is failing.
    await tx.query(
      `INSERT INTO deployments (certificate_id, target_id, status, last_error, current_version_id)
       SELECT c.id, t.id, CASE WHEN c.id % 25 = 0 THEN 'failed' ELSE 'deployed' END,
              CASE WHEN c.id % 25 = 0 THEN 'fortigate: the management API did not answer (seeded)' END, c.current_version_id
         FROM certificates c
         JOIN LATERAL (SELECT id FROM targets WHERE customer_id = c.customer_id ORDER BY (id + c.id / $2) % $1, id LIMIT 1) t ON true
        WHERE c.current_version_id IS NOT NULL`,
      [Math.max(1, size.targetsPerCustomer), size.customers],
    );
    await tx.query(
      `INSERT INTO deployment_runs (deployment_id, version_id, workflow_id, run_id, trigger, outcome, error, started_at, ended_at)
       SELECT d.id, d.current_version_id, 'deploy:' || d.certificate_id || ':' || d.id, 'seed-' || g, (ARRAY['lifecycle','retry','redeploy'])[1 + g % 3],
              (ARRAY['deployed','deployed','deployed','deployed','failed','rolled_back'])[1 + g % 6],
              CASE WHEN g % 6 >= 4 THEN 'seeded failure' END,
              now() - (g % 1000) * interval '1 hour', now() - (g % 1000) * interval '1 hour' + interval '3 seconds'
         FROM generate_series(1, $1) g
         JOIN (SELECT id, certificate_id, current_version_id, row_number() OVER (ORDER BY id) - 1 AS n FROM deployments) d
           ON d.n = g % (SELECT count(*) FROM deployments)`,
      [size.deploymentRuns],
    );
    await tx.query(
      `INSERT INTO audit_log (at, actor, actor_ip, action, entity_type, entity_id, after)
       SELECT now() - g * interval '1 minute', (ARRAY['alice','bob','carol'])[1 + g % 3], '192.0.2.' || (g % 250),
              (ARRAY['certificate.create','certificate.update','deployment.retry','target.update','login'])[1 + g % 5],
              (ARRAY['certificate','certificate','deployment','target','user'])[1 + g % 5], (g % 10000)::text, jsonb_build_object('seed', g)
         FROM generate_series(1, $1) g`,
      [size.auditEntries],
    );
    await tx.query('ANALYZE');
    return { customerIds, dnsProviderId: provider?.id ?? '', directoryId: directory?.id ?? '' };
  });
}
