-- Seeds the scratch database of the pgbench step (after session-store's own
-- migrations were applied to it): :sessions live sessions, each at generation 1
-- with its refresh-token row, shaped like the rows session-store writes (ids
-- are uuid text, token hashes 64 hex characters, 500 users).
INSERT INTO user_sessions (id, user_id, user_agent, ip_address, created_at, last_seen_at,
                           supabase_session_id, refresh_secret, current_generation)
SELECT md5(i::text)::uuid::text, 'bench-user-' || (i % 500), 'bench', '127.0.0.1', now(), now(),
       'bench-sb-' || i, decode(repeat('07', 32), 'hex'), 1
FROM generate_series(1, :sessions) AS i;

INSERT INTO refresh_tokens (session_id, token_hash, created_at, generation, key_id, expires_at)
SELECT md5(i::text)::uuid::text, encode(sha256(('bench-' || i || '-1')::bytea), 'hex'), now(), 1,
       'bench', now() + interval '30 days'
FROM generate_series(1, :sessions) AS i;

VACUUM ANALYZE user_sessions;
VACUUM ANALYZE refresh_tokens;
