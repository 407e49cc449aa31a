-- pgbench: one refresh-token rotation, statement for statement what
-- session-store's RotateRefreshToken sends (session-store/src/repository/rotate.rs):
-- BEGIN; lock the session row and read the presented generation's token row
-- (LOCK_SESSION); the three writes in one statement (ROTATE: mark the old
-- generation rotated, insert the next one, advance and touch the session);
-- COMMIT. Four round trips, run with -M prepared as session-store keeps its
-- statements prepared. The presented generation is the session's current
-- one (read in the same statement here, a parameter there: same plan, the
-- unique index on refresh_tokens (session_id, generation)).
\set n random(1, :sessions)
BEGIN;
SELECT s.id AS sid, s.user_id, s.user_agent, s.ip_address, s.created_at, s.last_seen_at,
       s.revoked_at, s.revoked_reason,
       s.supabase_session_id, s.current_generation AS gen,
       r.token_hash AS presented_hash
FROM user_sessions s
LEFT JOIN refresh_tokens r ON r.session_id = s.id AND r.generation = s.current_generation
WHERE s.id = md5(:n::text)::uuid::text
FOR UPDATE OF s \gset p_
\set next :p_gen + 1
WITH superseded AS (
    UPDATE refresh_tokens SET rotated_at = clock_timestamp()
    WHERE session_id = :p_sid AND generation = :p_gen
), issued AS (
    INSERT INTO refresh_tokens (session_id, token_hash, created_at, generation, key_id, expires_at)
    VALUES (:p_sid, md5(random()::text) || md5(random()::text), now(), :next, 'bench',
            now() + interval '30 days')
)
UPDATE user_sessions SET current_generation = :next, last_seen_at = now() WHERE id = :p_sid
RETURNING id, user_id, user_agent, ip_address, created_at, last_seen_at, revoked_at,
          revoked_reason, supabase_session_id, current_generation;
COMMIT;
