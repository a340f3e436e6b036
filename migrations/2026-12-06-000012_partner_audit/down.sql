ALTER TABLE accounts DROP COLUMN credentials_version;
ALTER TABLE sessions DROP COLUMN scopes;
