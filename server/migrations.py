"""The database schema, as named migrations applied in order (`server.connection.migrate` records
each in ``_migrations``). A migration is never edited once released: add a new one."""

from __future__ import annotations

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_documents_and_updates",
        """
        CREATE TABLE documents (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE updates (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            document_id TEXT NOT NULL REFERENCES documents(id),
            data BLOB NOT NULL
        );
        CREATE INDEX updates_by_document ON updates(document_id, id);
        CREATE TABLE document_states (
            document_id TEXT PRIMARY KEY REFERENCES documents(id),
            state BLOB NOT NULL,
            through_update INTEGER NOT NULL
        );
        """,
    ),
    (
        "0002_people_sessions_roles",
        """
        CREATE TABLE organizations (
            id INTEGER PRIMARY KEY,
            short_name TEXT NOT NULL UNIQUE COLLATE NOCASE,
            name TEXT NOT NULL,
            country TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            email TEXT NOT NULL UNIQUE COLLATE NOCASE,
            name TEXT NOT NULL,
            organization_id INTEGER REFERENCES organizations(id),
            language TEXT NOT NULL DEFAULT 'es',
            password_hash TEXT,
            is_admin INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            removed_at TEXT
        );
        CREATE TABLE sessions (
            id_hash TEXT PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id),
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL
        );
        CREATE INDEX sessions_by_user ON sessions(user_id);
        CREATE TABLE tokens (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id),
            token_hash TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        );
        CREATE TABLE memberships (
            document_id TEXT NOT NULL REFERENCES documents(id),
            user_id INTEGER NOT NULL REFERENCES users(id),
            role TEXT NOT NULL CHECK (role IN ('chair', 'delegate', 'reviewer', 'observer')),
            PRIMARY KEY (document_id, user_id)
        );
        CREATE INDEX memberships_by_user ON memberships(user_id);
        CREATE TABLE links (
            id INTEGER PRIMARY KEY,
            token_hash TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL CHECK (kind IN ('setup', 'invite', 'password', 'document')),
            user_id INTEGER REFERENCES users(id),
            document_id TEXT REFERENCES documents(id),
            role TEXT,
            email TEXT,
            created_by INTEGER REFERENCES users(id),
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_at TEXT
        );
        CREATE TABLE server_secrets (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        """,
    ),
    (
        "0003_comments",
        """
        CREATE TABLE comments (
            id INTEGER PRIMARY KEY,
            document_id TEXT NOT NULL REFERENCES documents(id),
            thread_id INTEGER REFERENCES comments(id),
            kind TEXT NOT NULL CHECK (kind IN ('comment', 'suggestion', 'reply')),
            author_id INTEGER NOT NULL REFERENCES users(id),
            body TEXT NOT NULL,
            anchor_start TEXT,
            anchor_end TEXT,
            quote TEXT,
            replacement TEXT,
            status TEXT NOT NULL DEFAULT 'open'
                CHECK (status IN ('open', 'resolved', 'accepted', 'rejected')),
            status_by INTEGER REFERENCES users(id),
            status_at TEXT,
            created_at TEXT NOT NULL,
            edited_at TEXT,
            removed_by INTEGER REFERENCES users(id),
            removed_at TEXT
        );
        CREATE INDEX comments_by_document ON comments(document_id, thread_id, id);
        CREATE TABLE mentions (
            comment_id INTEGER NOT NULL REFERENCES comments(id),
            user_id INTEGER NOT NULL REFERENCES users(id),
            PRIMARY KEY (comment_id, user_id)
        );
        CREATE TABLE notices (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id),
            document_id TEXT NOT NULL REFERENCES documents(id),
            comment_id INTEGER NOT NULL REFERENCES comments(id),
            kind TEXT NOT NULL CHECK (kind IN ('reply', 'mention')),
            created_at TEXT NOT NULL,
            read_at TEXT
        );
        CREATE INDEX notices_unread ON notices(user_id, read_at, document_id);
        CREATE TABLE document_settings (
            document_id TEXT PRIMARY KEY REFERENCES documents(id),
            delegates_decide INTEGER NOT NULL DEFAULT 0
        );
        """,
    ),
    (
        "0004_audit_log",
        """
        CREATE TABLE audit_log (
            seq INTEGER PRIMARY KEY,
            time TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            document_id TEXT,
            details TEXT NOT NULL,
            prev_hash TEXT NOT NULL UNIQUE,
            hash TEXT NOT NULL UNIQUE
        );
        CREATE INDEX audit_log_by_document ON audit_log(document_id, seq);
        """,
    ),
    (
        "0005_versions_ratification_adoption",
        """
        ALTER TABLE documents ADD COLUMN status TEXT NOT NULL DEFAULT 'draft'
            CHECK (status IN ('draft', 'review', 'ratified'));
        ALTER TABLE documents ADD COLUMN revision_of TEXT REFERENCES documents(id);
        CREATE TABLE versions (
            id INTEGER PRIMARY KEY,
            document_id TEXT NOT NULL REFERENCES documents(id),
            number INTEGER NOT NULL,
            name TEXT,
            kind TEXT NOT NULL
                CHECK (kind IN ('named', 'auto', 'status', 'ratified', 'restore')),
            status TEXT NOT NULL,
            markdown TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            state_vector BLOB NOT NULL,
            editors TEXT NOT NULL DEFAULT '[]',
            created_by INTEGER REFERENCES users(id),
            created_at TEXT NOT NULL,
            UNIQUE (document_id, number)
        );
        CREATE TABLE ratifications (
            document_id TEXT PRIMARY KEY REFERENCES documents(id),
            version_id INTEGER NOT NULL UNIQUE REFERENCES versions(id),
            title TEXT NOT NULL,
            markdown TEXT NOT NULL,
            html TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            body TEXT NOT NULL,
            decided_on TEXT NOT NULL,
            votes_for INTEGER NOT NULL,
            votes_against INTEGER NOT NULL,
            abstentions INTEGER NOT NULL,
            notes TEXT NOT NULL,
            ratified_by INTEGER NOT NULL REFERENCES users(id),
            ratified_at TEXT NOT NULL
        );
        CREATE INDEX ratifications_by_hash ON ratifications(sha256);
        CREATE TABLE publications (
            document_id TEXT PRIMARY KEY REFERENCES ratifications(document_id),
            slug TEXT NOT NULL UNIQUE,
            published_by INTEGER NOT NULL REFERENCES users(id),
            published_at TEXT NOT NULL
        );
        CREATE TABLE adoptions (
            id INTEGER PRIMARY KEY,
            document_id TEXT NOT NULL REFERENCES ratifications(document_id),
            organization_id INTEGER NOT NULL REFERENCES organizations(id),
            decision TEXT NOT NULL CHECK (decision IN
                ('adopted', 'adopted_with_reservations', 'rejected', 'pending')),
            reservations TEXT NOT NULL DEFAULT '',
            body TEXT NOT NULL DEFAULT '',
            decided_on TEXT,
            notes TEXT NOT NULL DEFAULT '',
            recorded_by INTEGER NOT NULL REFERENCES users(id),
            recorded_at TEXT NOT NULL
        );
        CREATE INDEX adoptions_by_document ON adoptions(document_id, organization_id, id);
        CREATE TRIGGER ratifications_never_change BEFORE UPDATE ON ratifications
        BEGIN
            SELECT RAISE(ABORT, 'a ratified text never changes');
        END;
        CREATE TRIGGER ratifications_never_go BEFORE DELETE ON ratifications
        BEGIN
            SELECT RAISE(ABORT, 'a ratified text never changes');
        END;
        CREATE TRIGGER versions_never_change BEFORE UPDATE ON versions
        BEGIN
            SELECT RAISE(ABORT, 'a version never changes');
        END;
        CREATE TRIGGER ratified_versions_never_go BEFORE DELETE ON versions
        WHEN OLD.id IN (SELECT version_id FROM ratifications)
        BEGIN
            SELECT RAISE(ABORT, 'a ratified text never changes');
        END;
        CREATE TRIGGER ratified_documents_stay_ratified BEFORE UPDATE OF status ON documents
        WHEN OLD.status = 'ratified'
        BEGIN
            SELECT RAISE(ABORT, 'a ratified text never changes');
        END;
        """,
    ),
    (
        "0006_updates_touch_their_document",
        """
        CREATE TRIGGER updates_touch_document AFTER INSERT ON updates
        BEGIN
            UPDATE documents SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
            WHERE id = NEW.document_id;
        END;
        """,
    ),
    (
        "0007_client_ids_belong_to_a_person",
        """
        CREATE TABLE client_ids (
            document_id TEXT NOT NULL REFERENCES documents(id),
            client_id INTEGER NOT NULL,
            user_id INTEGER NOT NULL REFERENCES users(id),
            PRIMARY KEY (document_id, client_id)
        ) WITHOUT ROWID;
        """,
    ),
    (
        "0008_documents_by_revision",
        # Opening a document asks whether a draft revises it (`documents.revised_by`): a
        # lookup on the event loop's connection, so by index, not a scan of every document.
        """
        CREATE INDEX documents_by_revision ON documents(revision_of, created_at);
        """,
    ),
]
