-- The current version's validity and the date renewal comes due, on the certificate row itself,
-- kept by a trigger whatever code path changes the row: the console's lists, filters and dashboard
-- sort and count 10,000 certificates by index instead of joining every version (bench/console.ts).

ALTER TABLE certificates
  ADD COLUMN current_not_before timestamptz,
  ADD COLUMN current_not_after  timestamptz,
  -- When the renewal rule comes due, as workflows/lib/renewal-window.ts computes it (never before
  -- 10 % of the lifetime has passed). NULL while nothing is issued.
  ADD COLUMN renew_at           timestamptz;

CREATE FUNCTION certificates_current_validity() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  starts double precision;
  ends double precision;
  lifetime double precision;
BEGIN
  IF NEW.current_version_id IS NULL THEN
    NEW.current_not_before := NULL;
    NEW.current_not_after := NULL;
  ELSIF TG_OP = 'INSERT' OR NEW.current_version_id IS DISTINCT FROM OLD.current_version_id THEN
    SELECT v.not_before, v.not_after INTO NEW.current_not_before, NEW.current_not_after
      FROM certificate_versions v WHERE v.id = NEW.current_version_id;
  END IF;
  IF NEW.current_not_after IS NULL THEN
    NEW.renew_at := NULL;
  ELSE
    -- In epoch seconds: calendar days would move by an hour across a DST change in the session's time zone.
    starts := extract(epoch FROM NEW.current_not_before);
    ends := extract(epoch FROM NEW.current_not_after);
    lifetime := ends - starts;
    NEW.renew_at := to_timestamp(greatest(
      CASE NEW.renewal_mode
        WHEN 'days' THEN ends - NEW.renewal_value * 86400.0
        WHEN 'percent' THEN ends - lifetime * NEW.renewal_value / 100.0
        ELSE ends - lifetime / 3
      END,
      starts + lifetime * 0.1));
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER certificates_current_validity BEFORE INSERT OR UPDATE ON certificates
  FOR EACH ROW EXECUTE FUNCTION certificates_current_validity();

-- Existing rows (the trigger computes renew_at from the validity set here).
UPDATE certificates c SET current_not_before = v.not_before, current_not_after = v.not_after
  FROM certificate_versions v WHERE v.id = c.current_version_id;

CREATE INDEX certificates_live_by_expiry ON certificates (current_not_after NULLS FIRST, id) WHERE deleted_at IS NULL;
CREATE INDEX certificates_live_by_renewal ON certificates (renew_at, id) WHERE deleted_at IS NULL AND enabled;
CREATE INDEX certificates_live_by_created ON certificates (created_at, id) WHERE deleted_at IS NULL;
