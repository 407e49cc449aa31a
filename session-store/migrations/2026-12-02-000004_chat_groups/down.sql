DROP TABLE IF EXISTS chat_group_members;
DROP TABLE IF EXISTS chat_groups;
