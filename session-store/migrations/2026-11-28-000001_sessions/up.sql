-- Sessions and refresh-token generations.
--
-- Every statement is idempotent (IF NOT EXISTS / ADD COLUMN IF NOT EXISTS) so the
-- migration adopts the tables the old Node backend created in the user's Supabase
-- database instead of failing on them.

CREATE TABLE IF NOT EXISTS user_sessions (
    id TEXT PRIMARY KEY DEFAULT gen_random_uuid()::text,
    user_id TEXT NOT NULL,
    user_agent TEXT NULL,
    ip_address TEXT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at TIMESTAMPTZ NULL
);

ALTER TABLE user_sessions ADD COLUMN IF NOT EXISTS supabase_session_id TEXT NULL;
ALTER TABLE user_sessions ADD COLUMN IF NOT EXISTS refresh_secret BYTEA NULL;
ALTER TABLE user_sessions ADD COLUMN IF NOT EXISTS current_generation BIGINT NOT NULL DEFAULT 0;
ALTER TABLE user_sessions ADD COLUMN IF NOT EXISTS revoked_reason TEXT NULL;

CREATE TABLE IF NOT EXISTS refresh_tokens (
    id TEXT PRIMARY KEY DEFAULT gen_random_uuid()::text,
    session_id TEXT NOT NULL REFERENCES user_sessions(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    rotated_at TIMESTAMPTZ NULL,
    revoked_at TIMESTAMPTZ NULL
);

ALTER TABLE refresh_tokens ADD COLUMN IF NOT EXISTS generation BIGINT NULL;
ALTER TABLE refresh_tokens ADD COLUMN IF NOT EXISTS key_id TEXT NULL;
ALTER TABLE refresh_tokens ADD COLUMN IF NOT EXISTS expires_at TIMESTAMPTZ NULL;

-- Tokens of the old backend cannot be verified under the new derivation scheme.
UPDATE refresh_tokens SET revoked_at = now() WHERE generation IS NULL AND revoked_at IS NULL;

CREATE UNIQUE INDEX IF NOT EXISTS refresh_tokens_session_generation_key
    ON refresh_tokens (session_id, generation);

-- One live backend session per Supabase session: makes the bridge idempotent
-- even under concurrent CreateSession calls.
CREATE UNIQUE INDEX IF NOT EXISTS user_sessions_live_supabase_session_key
    ON user_sessions (user_id, supabase_session_id)
    WHERE revoked_at IS NULL AND supabase_session_id IS NOT NULL;

CREATE INDEX IF NOT EXISTS idx_user_sessions_user_id ON user_sessions (user_id);
CREATE INDEX IF NOT EXISTS idx_user_sessions_created_at ON user_sessions (created_at);
CREATE INDEX IF NOT EXISTS idx_refresh_tokens_token_hash ON refresh_tokens (token_hash);
