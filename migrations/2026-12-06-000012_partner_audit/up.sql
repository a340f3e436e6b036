-- What partners and auditors found (issue 20): tokens, sharing, renewals, contacts, outcomes.

-- A person's sign-in session keeps the scopes first granted: a refresh gets those or fewer
-- (RFC 6749 §6). NULL for a session opened before this release: it gets the account's
-- scopes, as it did then (such sessions end within the refresh token's lifetime).
ALTER TABLE sessions ADD COLUMN scopes text;

-- Moves with every change of an account's credentials (a rotated secret, a reset
-- password): access tokens carry the value they were issued under, and one that no longer
-- matches is refused at its next request, on every instance.
ALTER TABLE accounts ADD COLUMN credentials_version integer NOT NULL DEFAULT 1;
