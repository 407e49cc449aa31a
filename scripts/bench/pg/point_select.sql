-- pgbench: what session-store's ValidateSession sends for a live session
-- touched within the touch interval (session-store/src/repository/sessions.rs,
-- `validate`): one primary-key SELECT of the session row, prepared.
\set n random(1, :sessions)
SELECT id, user_id, user_agent, ip_address, created_at, last_seen_at, revoked_at, revoked_reason,
       supabase_session_id, current_generation
FROM user_sessions WHERE id = md5(:n::text)::uuid::text LIMIT 1;
