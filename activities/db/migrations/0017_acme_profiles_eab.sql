-- ACME profiles and External Account Binding (issue 15, items 3 and 4).

-- What each directory offers, as the worker last read it (`meta.profiles`, {name: description}; NULL
-- until read), its default profile, and its External Account Binding: the key id in clear, the HMAC
-- key sealed with the secret box (purpose acme_directories.eab_hmac_key, bound to the directory URL).
ALTER TABLE acme_directories
  ADD COLUMN profiles               jsonb,
  ADD COLUMN eab_required           boolean,
  ADD COLUMN profiles_checked_at    timestamptz,
  ADD COLUMN profiles_error         text,
  ADD COLUMN default_profile        text CHECK (default_profile IS NULL OR length(default_profile) BETWEEN 1 AND 64),
  ADD COLUMN eab_key_id             text CHECK (eab_key_id IS NULL OR length(eab_key_id) BETWEEN 1 AND 256),
  ADD COLUMN eab_hmac_key_encrypted text,
  ADD CONSTRAINT acme_directories_eab_pair CHECK ((eab_key_id IS NULL) = (eab_hmac_key_encrypted IS NULL));

-- The certificate's own profile (NULL: the directory's default), and the profile each order sent.
ALTER TABLE certificates
  ADD COLUMN acme_profile text CHECK (acme_profile IS NULL OR length(acme_profile) BETWEEN 1 AND 64);
ALTER TABLE acme_orders ADD COLUMN profile text;

-- "Expires within N days" for a certificate valid from `starts` to `ends`: the N days were chosen for
-- 90-day certificates, so a shorter lifetime scales them down (min(N days, N/90 of the lifetime)). A
-- 6-day certificate is "within 7 days" in its last 11 hours, not all its life. Mirrored in
-- activities/domain/expiry-threshold.ts.
CREATE FUNCTION expiry_threshold(starts timestamptz, ends timestamptz, days double precision) RETURNS interval
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
      WHEN starts IS NULL OR ends IS NULL OR ends <= starts THEN days * interval '1 day'
      ELSE least(days * interval '1 day', (ends - starts) * (days / 90.0))
    END
  $$;

-- Endpoints seen serving a certificate: its start too, so served-expiry warnings follow its lifetime.
ALTER TABLE endpoint_checks ADD COLUMN not_before timestamptz;
