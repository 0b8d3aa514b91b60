-- State that every write used to recount, kept exact by triggers inside the writing statement.
--
-- boards.ticket_count: the live number of tickets on the board (the dashboard and every board
-- response read it instead of counting the board's tickets). Backfilled here, then maintained by
-- the three triggers below; a board delete cascades to its tickets after the board row is gone, so
-- the delete trigger then updates nothing.
ALTER TABLE boards ADD COLUMN ticket_count INTEGER NOT NULL DEFAULT 0;
UPDATE boards SET ticket_count = (SELECT count(*) FROM tickets t WHERE t.board_id = boards.id);

CREATE TRIGGER tickets_count_insert AFTER INSERT ON tickets
BEGIN
    UPDATE boards SET ticket_count = ticket_count + 1 WHERE id = NEW.board_id;
END;

CREATE TRIGGER tickets_count_delete AFTER DELETE ON tickets
BEGIN
    UPDATE boards SET ticket_count = ticket_count - 1 WHERE id = OLD.board_id;
END;

CREATE TRIGGER tickets_count_move AFTER UPDATE OF board_id ON tickets WHEN OLD.board_id <> NEW.board_id
BEGIN
    UPDATE boards SET ticket_count = ticket_count - 1 WHERE id = OLD.board_id;
    UPDATE boards SET ticket_count = ticket_count + 1 WHERE id = NEW.board_id;
END;

-- boards.event_seq follows the event log: an event row is inserted with seq = event_seq + 1 read
-- from its board in the same statement, and this trigger records it, so appending an event is one
-- statement instead of an UPDATE ... RETURNING followed by an INSERT.
CREATE TRIGGER board_events_seq AFTER INSERT ON board_events
BEGIN
    UPDATE boards SET event_seq = NEW.seq WHERE id = NEW.board_id;
END;

-- The last-admin check counts active admins; an index keeps that count off the users table.
CREATE INDEX idx_users_role_active ON users (role, is_active);
