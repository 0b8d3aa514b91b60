-- Every table and index of the data model. Timestamps are TEXT 'YYYY-MM-DDTHH:MM:SS.sssZ' (UTC),
-- so text order is time order. Ids use AUTOINCREMENT so they are never reused.

CREATE TABLE boards (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    description TEXT,
    columns     TEXT    NOT NULL CHECK (json_valid(columns) AND json_type(columns) = 'array'
                                        AND json_array_length(columns) BETWEEN 1 AND 50),
    version     INTEGER NOT NULL DEFAULT 1,
    event_seq   INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);

CREATE TABLE tickets (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    board_id            INTEGER NOT NULL REFERENCES boards(id) ON DELETE CASCADE,
    title               TEXT    NOT NULL,
    description         TEXT,
    acceptance_criteria TEXT,
    priority            TEXT    NOT NULL DEFAULT '1.0',
    assignee            TEXT,
    current_column      TEXT    NOT NULL CHECK (length(current_column) > 0),
    version             INTEGER NOT NULL DEFAULT 1,
    created_at          TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL,
    column_entered_at   TEXT    NOT NULL
);
CREATE INDEX idx_tickets_board_column ON tickets (board_id, current_column);
CREATE INDEX idx_tickets_assignee ON tickets (assignee);
CREATE INDEX idx_tickets_priority ON tickets (priority);
CREATE INDEX idx_tickets_created_at ON tickets (created_at);
CREATE INDEX idx_tickets_updated_at ON tickets (updated_at);

CREATE TABLE comments (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id  INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    text       TEXT    NOT NULL,
    author     TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    updated_at TEXT
);
CREATE INDEX idx_comments_ticket_created ON comments (ticket_id, created_at);
CREATE INDEX idx_comments_author ON comments (author);

CREATE TABLE ticket_history (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id  INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    field_name TEXT    NOT NULL CHECK (field_name IN ('status', 'title', 'description',
                                        'acceptance_criteria', 'priority', 'assignee', 'column')),
    old_value  TEXT,
    new_value  TEXT,
    changed_by TEXT    NOT NULL,
    changed_at TEXT    NOT NULL
);
CREATE INDEX idx_history_ticket_changed ON ticket_history (ticket_id, changed_at);
CREATE INDEX idx_history_changed ON ticket_history (changed_at);
CREATE INDEX idx_history_field_changed ON ticket_history (field_name, changed_at);

-- No foreign key: the log outlives a deleted board until retention removes it.
CREATE TABLE board_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    board_id   INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    event      TEXT    NOT NULL,
    data       TEXT    NOT NULL CHECK (json_valid(data)),
    created_at TEXT    NOT NULL,
    UNIQUE (board_id, seq)
);
CREATE INDEX idx_board_events_created ON board_events (created_at);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'pm', 'agent', 'viewer')),
    is_active     INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    last_login    TEXT
);

CREATE TABLE refresh_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    family_id  TEXT    NOT NULL,
    token_hash TEXT    NOT NULL UNIQUE,
    issued_at  TEXT    NOT NULL,
    expires_at TEXT    NOT NULL,
    used_at    TEXT,
    revoked_at TEXT
);
CREATE INDEX idx_refresh_tokens_user ON refresh_tokens (user_id);
CREATE INDEX idx_refresh_tokens_family ON refresh_tokens (family_id);

-- No foreign key: rows expire on their own.
CREATE TABLE revoked_access_tokens (
    jti        TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    expires_at TEXT    NOT NULL
);
CREATE INDEX idx_revoked_access_tokens_expires ON revoked_access_tokens (expires_at);

CREATE TABLE anon_sessions (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_activity TEXT NOT NULL
);
CREATE INDEX idx_anon_sessions_last_activity ON anon_sessions (last_activity);

CREATE TABLE idempotency_keys (
    principal        TEXT    NOT NULL,
    key              TEXT    NOT NULL,
    method           TEXT    NOT NULL,
    path             TEXT    NOT NULL,
    request_hash     TEXT    NOT NULL,
    status           INTEGER NOT NULL,
    response_body    TEXT    NOT NULL,
    response_headers TEXT    NOT NULL CHECK (json_valid(response_headers)),
    created_at       TEXT    NOT NULL,
    expires_at       TEXT    NOT NULL,
    PRIMARY KEY (principal, key)
);
CREATE INDEX idx_idempotency_keys_expires ON idempotency_keys (expires_at);
