-- Group chats ("Nexus Chats"): groups and their members.
--
-- Idempotent like every migration here (IF NOT EXISTS, guarded DO blocks), so
-- it adopts tables someone created by hand or an earlier partial run left.
-- Ids are TEXT like user_sessions' (Supabase user ids, UUID group ids).
-- Writes go through session-store only; on a Supabase database a signed-in
-- user may read the groups they belong to and their own member rows, column
-- by column, and nothing else (same approach as migrations 2 and 3).

CREATE TABLE IF NOT EXISTS chat_groups (
    id TEXT PRIMARY KEY DEFAULT gen_random_uuid()::text,
    name TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS chat_group_members (
    group_id TEXT NOT NULL REFERENCES chat_groups(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'member',
    added_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, user_id)
);

-- A hand-made members table may lack these; their defaults fill old rows.
ALTER TABLE chat_group_members ADD COLUMN IF NOT EXISTS role TEXT NOT NULL DEFAULT 'member';
ALTER TABLE chat_group_members ADD COLUMN IF NOT EXISTS added_at TIMESTAMPTZ NOT NULL DEFAULT now();

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                   WHERE conname = 'chat_group_members_role_check') THEN
        ALTER TABLE chat_group_members ADD CONSTRAINT chat_group_members_role_check
            CHECK (role IN ('owner', 'member'));
    END IF;
END
$$;

-- "My groups" and the re-check's membership lookups go by user.
CREATE INDEX IF NOT EXISTS idx_chat_group_members_user_id ON chat_group_members (user_id);
CREATE INDEX IF NOT EXISTS idx_chat_groups_created_by ON chat_groups (created_by);

ALTER TABLE chat_groups ENABLE ROW LEVEL SECURITY;
ALTER TABLE chat_group_members ENABLE ROW LEVEL SECURITY;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role')
       AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated')
       AND EXISTS (
           SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'auth' AND p.proname = 'uid'
       )
    THEN
        IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE tablename = 'chat_groups'
                       AND policyname = 'Service role can manage all chat groups') THEN
            CREATE POLICY "Service role can manage all chat groups" ON chat_groups
                FOR ALL TO service_role USING (true);
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE tablename = 'chat_group_members'
                       AND policyname = 'Service role can manage all chat group members') THEN
            CREATE POLICY "Service role can manage all chat group members" ON chat_group_members
                FOR ALL TO service_role USING (true);
        END IF;
        -- Own member rows only: a policy on chat_group_members that looked at
        -- other rows of the same table would recurse. The member list of a
        -- group is served by the API to members.
        IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE tablename = 'chat_group_members'
                       AND policyname = 'Users can view own group memberships') THEN
            CREATE POLICY "Users can view own group memberships" ON chat_group_members
                FOR SELECT TO authenticated USING (auth.uid()::text = user_id);
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE tablename = 'chat_groups'
                       AND policyname = 'Members can view their groups') THEN
            CREATE POLICY "Members can view their groups" ON chat_groups
                FOR SELECT TO authenticated USING (
                    EXISTS (
                        SELECT 1 FROM chat_group_members m
                        WHERE m.group_id = chat_groups.id
                          AND m.user_id = auth.uid()::text
                    )
                );
        END IF;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN
        REVOKE ALL ON chat_groups, chat_group_members FROM anon;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
        REVOKE ALL ON chat_groups, chat_group_members FROM authenticated;
        GRANT SELECT (id, name, created_by, created_at) ON chat_groups TO authenticated;
        GRANT SELECT (group_id, user_id, role, added_at) ON chat_group_members TO authenticated;
    END IF;
END
$$;
