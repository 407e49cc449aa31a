DROP POLICY IF EXISTS "Users can view own refresh tokens" ON refresh_tokens;
DROP POLICY IF EXISTS "Service role can manage all refresh tokens" ON refresh_tokens;
DROP POLICY IF EXISTS "Users can view own sessions" ON user_sessions;
DROP POLICY IF EXISTS "Service role can manage all sessions" ON user_sessions;
ALTER TABLE refresh_tokens DISABLE ROW LEVEL SECURITY;
ALTER TABLE user_sessions DISABLE ROW LEVEL SECURITY;
