-- The devices an ingest key may write readings for (issue 16.7): worker names, or prefixes ending
-- in '*' ("greenhouse-*"). NULL: every device. Only ingest keys have a scope.
ALTER TABLE api_keys
    ADD COLUMN devices text[],
    ADD CONSTRAINT api_keys_devices_ingest_only CHECK (devices IS NULL OR role = 'ingest');
