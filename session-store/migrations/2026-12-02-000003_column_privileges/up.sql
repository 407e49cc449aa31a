-- What Supabase's data API may show a signed-in user: only the seed's columns.
--
-- On a Supabase database the `anon` and `authenticated` roles get every
-- privilege on new public tables (default privileges), and the
-- "Users can view own sessions" policy filters rows, not columns: without this
-- migration any signed-in user's JWT could `select refresh_secret` of its own
-- sessions through the data API. The per-session secret, key ids and
-- generations are for the service alone (session-store connects as the table
-- owner; `service_role` keeps its full access through its own grants).
--
-- A table-wide SELECT grant would override column grants, so everything is
-- revoked first and SELECT is granted back column by column. On a plain
-- Postgres without the Supabase roles this does nothing.

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN
        REVOKE ALL ON user_sessions, refresh_tokens FROM anon;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
        REVOKE ALL ON user_sessions, refresh_tokens FROM authenticated;
        GRANT SELECT (id, user_id, user_agent, ip_address, created_at, last_seen_at, revoked_at)
            ON user_sessions TO authenticated;
        GRANT SELECT (id, session_id, token_hash, created_at, expires_at, rotated_at, revoked_at)
            ON refresh_tokens TO authenticated;
    END IF;
END
$$;
