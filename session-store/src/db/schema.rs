//! Diesel's view of the tables (only the columns session-store uses).
//!
//! `refresh_tokens.id` is deliberately absent: adopted tables from the old
//! backend may give it another type, so no query references it. The key
//! declared for diesel is the unique (session_id, generation) pair.

diesel::table! {
    user_sessions (id) {
        id -> Text,
        user_id -> Text,
        user_agent -> Nullable<Text>,
        ip_address -> Nullable<Text>,
        created_at -> Timestamptz,
        last_seen_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        supabase_session_id -> Nullable<Text>,
        refresh_secret -> Nullable<Bytea>,
        current_generation -> Int8,
        revoked_reason -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (session_id, generation) {
        session_id -> Text,
        token_hash -> Text,
        created_at -> Timestamptz,
        rotated_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        generation -> Nullable<Int8>,
        key_id -> Nullable<Text>,
        expires_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(refresh_tokens -> user_sessions (session_id));
diesel::allow_tables_to_appear_in_same_query!(user_sessions, refresh_tokens);

diesel::table! {
    chat_groups (id) {
        id -> Text,
        name -> Text,
        created_by -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    chat_group_members (group_id, user_id) {
        group_id -> Text,
        user_id -> Text,
        role -> Text,
        added_at -> Timestamptz,
    }
}

diesel::joinable!(chat_group_members -> chat_groups (group_id));
diesel::allow_tables_to_appear_in_same_query!(chat_groups, chat_group_members);
