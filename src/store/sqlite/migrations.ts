// Versioned schema. Each entry runs once, in order, inside a transaction; PRAGMA user_version
// records how far a database has come. Never edit a released migration: append a new one.

export const migrations: string[] = [
  /* 1: the initial schema */ `
  CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    guest INTEGER NOT NULL,
    admin INTEGER NOT NULL DEFAULT 0,
    password_hash TEXT,
    password_changed_at INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
  );
  -- A registered name is unique among registered accounts, a guest name among guests;
  -- the core keeps guests off registered names.
  CREATE UNIQUE INDEX accounts_registered_name ON accounts(name_key) WHERE guest = 0;
  CREATE UNIQUE INDEX accounts_guest_name ON accounts(name_key) WHERE guest = 1;

  CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX sessions_account ON sessions(account_id);

  CREATE TABLE rooms (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('public', 'private', 'direct')),
    topic TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seq INTEGER NOT NULL DEFAULT 0
  );

  CREATE TABLE members (
    room_id TEXT NOT NULL REFERENCES rooms(id),
    account_id TEXT NOT NULL REFERENCES accounts(id),
    role TEXT NOT NULL CHECK (role IN ('owner', 'moderator', 'member')),
    muted INTEGER NOT NULL DEFAULT 0,
    joined_at INTEGER NOT NULL,
    read_seq INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, account_id)
  ) WITHOUT ROWID;
  CREATE INDEX members_account ON members(account_id);

  CREATE TABLE bans (
    room_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    PRIMARY KEY (room_id, account_id)
  ) WITHOUT ROWID;

  CREATE TABLE invites (
    room_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    PRIMARY KEY (room_id, account_id)
  ) WITHOUT ROWID;

  -- Messages are clustered by (room, seq): history pages are range scans.
  CREATE TABLE messages (
    room_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    id TEXT NOT NULL UNIQUE,
    author_id TEXT NOT NULL,
    client_id TEXT,
    body TEXT NOT NULL,
    reply_to TEXT,
    created_at INTEGER NOT NULL,
    edited_at INTEGER,
    deleted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, seq)
  ) WITHOUT ROWID;
  CREATE UNIQUE INDEX messages_client ON messages(author_id, client_id) WHERE client_id IS NOT NULL;

  -- Every other durable room event (edits, deletions, reactions, topics, membership), sharing the
  -- room's sequence with messages.
  CREATE TABLE events (
    room_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (room_id, seq)
  ) WITHOUT ROWID;

  CREATE TABLE reactions (
    message_id TEXT NOT NULL,
    emoji TEXT NOT NULL,
    account_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (message_id, emoji, account_id)
  ) WITHOUT ROWID;
  `,
  /* 2: full-text search */ `
  -- FTS5 needs an integer key, and messages is WITHOUT ROWID: doc numbers the messages in the
  -- order they were written (the writer assigns MAX(doc) + 1).
  ALTER TABLE messages ADD COLUMN doc INTEGER;
  UPDATE messages SET doc = n.doc
    FROM (SELECT room_id, seq, row_number() OVER (ORDER BY created_at, room_id, seq) AS doc FROM messages) n
    WHERE n.room_id = messages.room_id AND n.seq = messages.seq;
  CREATE UNIQUE INDEX messages_doc ON messages(doc);

  -- An external-content index over messages.body. The trigram tokenizer indexes every run of three
  -- characters, so any substring of three or more characters is found in any script, CJK
  -- included (unicode61 would treat a whole CJK sentence as one word). Shorter terms are matched
  -- with LIKE. Deleted messages have an empty body, so they leave the index.
  CREATE VIRTUAL TABLE message_search USING fts5(
    body, content = 'messages', content_rowid = 'doc', tokenize = 'trigram'
  );
  INSERT INTO message_search(message_search) VALUES ('rebuild');

  -- Kept in sync by every write to messages: new messages, edits and deletions.
  CREATE TRIGGER message_search_insert AFTER INSERT ON messages BEGIN
    INSERT INTO message_search(rowid, body) VALUES (new.doc, new.body);
  END;
  CREATE TRIGGER message_search_update AFTER UPDATE OF body ON messages BEGIN
    INSERT INTO message_search(message_search, rowid, body) VALUES ('delete', old.doc, old.body);
    INSERT INTO message_search(rowid, body) VALUES (new.doc, new.body);
  END;
  `,
  /* 3: new messages are indexed for search by the group commit, not by a trigger */ `
  -- The store adds each commit's new messages to message_search in one INSERT … SELECT at the end
  -- of the commit's transaction: a trigger, run once per inserted row, cost about three times as
  -- much CPU per message. Edits and deletions still go through message_search_update.
  DROP TRIGGER message_search_insert;
  `,
  /* 4: new messages are indexed for search shortly after their commit, in larger batches */ `
  -- The last doc the search index holds: messages after it are committed but not yet indexed.
  -- The store indexes them a little after their commit (one INSERT … SELECT for many commits),
  -- before any search, before an edit or deletion, and when it opens (after a crash), so a
  -- committed message is always found. Until now every commit indexed its own messages.
  CREATE TABLE search_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_doc INTEGER NOT NULL
  );
  INSERT INTO search_state (id, indexed_doc) VALUES (1, (SELECT COALESCE(MAX(doc), 0) FROM messages));
  `,
];
