-- Each worker carries its farm's name (issue 15.9): a page of GET /api/workers is then one index
-- range scan of `workers`, without looking up a farm for every row (that lookup, by join or by
-- subquery, was about 100 µs of PostgreSQL's time per page of 100). Triggers keep the copy: a
-- worker gets the name when it is given a farm, and renaming a farm renames it on its workers
-- (farms are renamed seldom; workers are read on every page). Removing a farm sets farm_id to
-- NULL (ON DELETE SET NULL), which clears the name by the same trigger.
ALTER TABLE workers ADD COLUMN farm_name text;

UPDATE workers w SET farm_name = f.name FROM farms f WHERE f.id = w.farm_id;

CREATE FUNCTION workers_farm_name() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.farm_id IS NULL THEN
        NEW.farm_name := NULL;
    ELSIF TG_OP = 'INSERT' OR NEW.farm_id IS DISTINCT FROM OLD.farm_id
          OR NEW.farm_name IS DISTINCT FROM OLD.farm_name THEN
        NEW.farm_name := (SELECT name FROM farms WHERE id = NEW.farm_id);
    END IF;
    RETURN NEW;
END $$;

-- Fires only for statements that set farm_id or farm_name: heartbeats and status updates, which
-- set neither, pay nothing.
CREATE TRIGGER workers_farm_name BEFORE INSERT OR UPDATE OF farm_id, farm_name ON workers
    FOR EACH ROW EXECUTE FUNCTION workers_farm_name();

CREATE FUNCTION farms_rename_workers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE workers SET farm_name = NEW.name
     WHERE farm_id = NEW.id AND farm_name IS DISTINCT FROM NEW.name;
    RETURN NULL;
END $$;

CREATE TRIGGER farms_rename_workers AFTER UPDATE OF name ON farms
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION farms_rename_workers();
