-- Gives `authenticated` back table-wide SELECT (rows still filtered by RLS).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
        REVOKE ALL ON user_sessions, refresh_tokens FROM authenticated;
        GRANT SELECT ON user_sessions, refresh_tokens TO authenticated;
    END IF;
END
$$;
