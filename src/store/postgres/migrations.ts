// Versioned schema for PostgreSQL. Each entry runs once, in order, in its own transaction, with
// search_path set to the store's schema (so the SQL names tables without a schema); the table
// schema_migrations records how far a database has come. Never edit a released migration: append
// a new one.
//
// The schema mirrors the SQLite store's (src/store/sqlite/migrations.ts) so that both behave the
// same: name keys compare byte-wise (COLLATE "C", as SQLite's default BINARY collation does),
// timestamps and sequence numbers are BIGINT (the store reads them back as JS numbers), ids TEXT.

export const migrations: string[] = [
  /* 1: the initial schema */ `
  CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT COLLATE "C" NOT NULL,
    guest BOOLEAN NOT NULL,
    admin BOOLEAN NOT NULL DEFAULT false,
    password_hash TEXT,
    password_changed_at BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
  );
  -- A registered name is unique among registered accounts, a guest name among guests;
  -- the store keeps guests off registered names.
  CREATE UNIQUE INDEX accounts_registered_name ON accounts(name_key) WHERE NOT guest;
  CREATE UNIQUE INDEX accounts_guest_name ON accounts(name_key) WHERE guest;

  CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
  );
  CREATE INDEX sessions_account ON sessions(account_id);

  CREATE TABLE rooms (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT COLLATE "C" NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('public', 'private', 'direct')),
    topic TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- The room's sequence counter: appends take it with UPDATE … RETURNING, which serializes
    -- appends to one room across processes and keeps its sequence gap-free.
    last_seq BIGINT NOT NULL DEFAULT 0
  );

  CREATE TABLE members (
    room_id TEXT NOT NULL REFERENCES rooms(id),
    account_id TEXT NOT NULL REFERENCES accounts(id),
    role TEXT NOT NULL CHECK (role IN ('owner', 'moderator', 'member')),
    muted BOOLEAN NOT NULL DEFAULT false,
    joined_at BIGINT NOT NULL,
    read_seq BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, account_id)
  );
  CREATE INDEX members_account ON members(account_id);

  CREATE TABLE bans (
    room_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    PRIMARY KEY (room_id, account_id)
  );

  CREATE TABLE invites (
    room_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    PRIMARY KEY (room_id, account_id)
  );

  -- History pages are range scans on the primary key (room, seq).
  CREATE TABLE messages (
    room_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    author_id TEXT NOT NULL,
    client_id TEXT,
    body TEXT NOT NULL,
    reply_to TEXT,
    created_at BIGINT NOT NULL,
    edited_at BIGINT,
    deleted BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (room_id, seq)
  );
  -- Idempotent send across processes: one message per (author, client id).
  CREATE UNIQUE INDEX messages_client ON messages(author_id, client_id) WHERE client_id IS NOT NULL;

  -- Every other durable room event (edits, deletions, reactions, topics, membership), sharing the
  -- room's sequence with messages. data is the event's JSON text.
  CREATE TABLE events (
    room_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    type TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (room_id, seq)
  );

  CREATE TABLE reactions (
    message_id TEXT NOT NULL,
    emoji TEXT NOT NULL,
    account_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (message_id, emoji, account_id)
  );
  `,
  /* 2: an index for message search */ `
  -- Search is ILIKE '%term%' per term (src/core/search.ts), correct with or without an index. A
  -- trigram GIN index makes it fast; it needs the pg_trgm extension (in contrib, "trusted" since
  -- PostgreSQL 13). Where it cannot be created, search still works, by scanning the rooms searched.
  DO $$
  BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
  EXCEPTION WHEN others THEN
    RAISE NOTICE 'pg_trgm is not available (%): message search works without an index', SQLERRM;
  END $$;
  DO $$
  DECLARE
    ext_schema TEXT := (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
      WHERE e.extname = 'pg_trgm');
  BEGIN
    IF ext_schema IS NOT NULL THEN
      EXECUTE format('CREATE INDEX messages_body_trgm ON messages USING gin (body %I.gin_trgm_ops) WHERE NOT deleted',
        ext_schema);
    END IF;
  END $$;
  `,
];
