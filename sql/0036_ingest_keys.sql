-- API keys with the ingest role (issue 16.7): a device or sensor pushes readings with a key that
-- can do nothing else, so a key pulled off a sensor cannot read the fleet or act on it. Users
-- keep the three interactive roles.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check
    CHECK (role IN ('admin', 'operator', 'viewer', 'ingest'));
