-- The audit log's tables only grow. SQLite has no roles: these triggers stop the vault's own
-- code (a bug, an injected statement) from changing or deleting an entry; whoever can write the
-- file can drop them, which the signed checkpoints outside the database detect.
CREATE TRIGGER audit_entries_append_only_u BEFORE UPDATE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only'); END;
CREATE TRIGGER audit_entries_append_only_d BEFORE DELETE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only'); END;
CREATE TRIGGER audit_nodes_append_only_u BEFORE UPDATE ON audit_nodes
BEGIN SELECT RAISE(ABORT, 'audit_nodes is append-only'); END;
CREATE TRIGGER audit_nodes_append_only_d BEFORE DELETE ON audit_nodes
BEGIN SELECT RAISE(ABORT, 'audit_nodes is append-only'); END;
CREATE TRIGGER audit_signatures_append_only_u BEFORE UPDATE ON audit_signatures
BEGIN SELECT RAISE(ABORT, 'audit_signatures is append-only'); END;
CREATE TRIGGER audit_signatures_append_only_d BEFORE DELETE ON audit_signatures
BEGIN SELECT RAISE(ABORT, 'audit_signatures is append-only'); END;
CREATE TRIGGER audit_checkpoints_append_only_u BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
CREATE TRIGGER audit_checkpoints_append_only_d BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
