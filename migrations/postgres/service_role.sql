-- The role every connection of the service works as (`SET ROLE sidian_service` once the
-- migrations have run): all the vault does, except that the audit log's tables only grow. Run
-- after the migrations at every start, so that tables added later and a restored database (dumped
-- without privileges) get their grants. The role is cluster-wide; the grants are per database.
-- Nodes starting together take turns ("sidian" as a number).
SELECT pg_advisory_xact_lock(126896493388142);

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sidian_service') THEN
        BEGIN
            CREATE ROLE sidian_service NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL; -- another database of the cluster made it at the same moment
        END;
    END IF;
    -- Whoever migrates must be able to become it (a superuser always can).
    IF NOT pg_has_role(current_user, 'sidian_service', 'MEMBER') THEN
        EXECUTE format('GRANT sidian_service TO %I', current_user);
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO sidian_service', current_schema());
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO sidian_service',
                   current_schema());
    REVOKE ALL ON _sqlx_migrations FROM sidian_service;
    -- The log: appended to, never changed. audit_head is not among them: it is the lock and the
    -- frontier, updated by every append.
    REVOKE UPDATE, DELETE, TRUNCATE ON audit_entries, audit_nodes, audit_signatures, audit_checkpoints
        FROM sidian_service;
END
$$;
