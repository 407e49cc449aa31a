-- Row Level Security as the original migration had it.
--
-- session-store connects as the table owner and is not subject to RLS; the
-- policies matter for Supabase's own API. They reference Supabase roles and
-- auth.uid(), so they are created only where those exist (a plain Postgres
-- has neither), and only if not already present (adopted databases).

ALTER TABLE user_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE refresh_tokens ENABLE ROW LEVEL SECURITY;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role')
       AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated')
       AND EXISTS (
           SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'auth' AND p.proname = 'uid'
       )
    THEN
        IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE tablename = 'user_sessions'
                       AND policyname = 'Service role can manage all sessions') THEN
            CREATE POLICY "Service role can manage all sessions" ON user_sessions
                FOR ALL TO service_role USING (true);
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE tablename = 'user_sessions'
                       AND policyname = 'Users can view own sessions') THEN
            CREATE POLICY "Users can view own sessions" ON user_sessions
                FOR SELECT TO authenticated USING (auth.uid()::text = user_id);
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE tablename = 'refresh_tokens'
                       AND policyname = 'Service role can manage all refresh tokens') THEN
            CREATE POLICY "Service role can manage all refresh tokens" ON refresh_tokens
                FOR ALL TO service_role USING (true);
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE tablename = 'refresh_tokens'
                       AND policyname = 'Users can view own refresh tokens') THEN
            CREATE POLICY "Users can view own refresh tokens" ON refresh_tokens
                FOR SELECT TO authenticated USING (
                    EXISTS (
                        SELECT 1 FROM user_sessions s
                        WHERE s.id = refresh_tokens.session_id
                          AND s.user_id = auth.uid()::text
                    )
                );
        END IF;
    END IF;
END
$$;
