"""SQLite persistence of the app (chat UI and template CLI): conversations, messages (with citations), drafts, feedback.

The schema is versioned with ``PRAGMA user_version``; :data:`MIGRATIONS` are applied in order, so an old
database file is upgraded in place when the app starts. Every call opens its own short-lived connection,
which makes one :class:`Storage` safe to share between Streamlit sessions (threads).
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock
from pydantic import BaseModel, Field

from assistant.models import Citation

MIGRATIONS: tuple[str, ...] = (
    # v1: conversations and messages
    """
    CREATE TABLE conversations (
        id          TEXT PRIMARY KEY,
        title       TEXT NOT NULL DEFAULT '',
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL
    );
    CREATE TABLE messages (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation_id  TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        role             TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
        content          TEXT NOT NULL,
        citations        TEXT NOT NULL DEFAULT '[]',
        refused          INTEGER NOT NULL DEFAULT 0,
        suggestions      TEXT NOT NULL DEFAULT '[]',
        created_at       TEXT NOT NULL
    );
    CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
    """,
    # v2: template drafts and feedback; messages remember whether they belong to a template interview
    """
    ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'chat';
    CREATE TABLE drafts (
        conversation_id  TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
        template         TEXT NOT NULL,
        session_json     TEXT NOT NULL,
        active           INTEGER NOT NULL DEFAULT 1,
        updated_at       TEXT NOT NULL
    );
    CREATE TABLE feedback (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id       INTEGER NOT NULL UNIQUE REFERENCES messages(id) ON DELETE CASCADE,
        conversation_id  TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        score            INTEGER,
        comment          TEXT NOT NULL DEFAULT '',
        question         TEXT NOT NULL DEFAULT '',
        answer           TEXT NOT NULL DEFAULT '',
        sources          TEXT NOT NULL DEFAULT '[]',
        created_at       TEXT NOT NULL,
        updated_at       TEXT NOT NULL
    );
    """,
    # v3: several drafts per conversation (one per template); parked drafts are kept, never overwritten
    """
    CREATE TABLE drafts_v3 (
        conversation_id  TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        template         TEXT NOT NULL,
        draft_json       TEXT NOT NULL,
        status           TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'parked')),
        updated_at       TEXT NOT NULL,
        PRIMARY KEY (conversation_id, template)
    );
    INSERT INTO drafts_v3 (conversation_id, template, draft_json, status, updated_at)
        SELECT conversation_id, template, session_json, CASE WHEN active THEN 'active' ELSE 'parked' END, updated_at
        FROM drafts;
    DROP TABLE drafts;
    ALTER TABLE drafts_v3 RENAME TO drafts;
    CREATE INDEX drafts_by_status ON drafts(status, updated_at);
    """,
    # v4: conversations belong to an owner (a browser's signed token); '' = from before owners (team view only)
    """
    ALTER TABLE conversations ADD COLUMN owner TEXT NOT NULL DEFAULT '';
    CREATE INDEX conversations_by_owner ON conversations(owner, updated_at);
    """,
    # v5: an answer remembers its coverage decision (answered | partial | refused); '' = not an answer / older
    """
    ALTER TABLE messages ADD COLUMN coverage TEXT NOT NULL DEFAULT '';
    """,
)

FEEDBACK_COLUMNS = (
    "id", "created_at", "updated_at", "conversation_id", "message_id",
    "score", "rating", "comment", "question", "answer", "sources",
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class ConversationInfo(BaseModel):
    """A conversation as listed in the sidebar."""

    id: str
    title: str
    created_at: str
    updated_at: str
    owner: str = ""


class StoredMessage(BaseModel):
    """One persisted chat message."""

    id: int
    conversation_id: str
    role: str
    content: str
    citations: list[Citation] = Field(default_factory=list)
    refused: bool = False
    suggestions: list[str] = Field(default_factory=list)
    kind: str = "chat"
    coverage: str = ""  # answered | partial | refused for an answer of the assistant
    created_at: str = ""


class DraftRecord(BaseModel):
    """One saved template draft of a conversation (``Draft`` JSON); ``status`` is active or parked."""

    conversation_id: str
    template: str
    draft_json: str
    status: str
    updated_at: str
    conversation_title: str = ""

    @property
    def active(self) -> bool:
        return self.status == "active"


class FeedbackRecord(BaseModel):
    """A rating (1 = thumbs up, 0 = thumbs down) with the answer it is about."""

    id: int
    message_id: int
    conversation_id: str
    score: int | None
    comment: str
    question: str
    answer: str
    sources: list[dict[str, Any]]
    created_at: str
    updated_at: str


class Storage:
    """Small repository over the app's SQLite file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.migrate()

    # --- infrastructure -------------------------------------------------------------------------------
    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        try:
            with conn:  # commit on success, roll back on error
                yield conn
        finally:
            conn.close()

    @property
    def schema_version(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> int:
        """Apply the missing migrations; returns the resulting schema version.

        Several processes may open a fresh file at once: the version check and the migrations run under an
        exclusive file lock (``filelock``), so each migration is applied exactly once."""
        with FileLock(str(self.path) + ".migrate.lock", timeout=60):
            return self._migrate_locked()

    def _migrate_locked(self) -> int:
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode = WAL")
        version = self.schema_version
        for number, script in enumerate(MIGRATIONS, start=1):
            if number <= version:
                continue
            conn = sqlite3.connect(self.path, timeout=30)
            try:
                # executescript commits implicitly; wrap the script and the version bump in one transaction.
                conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
            except sqlite3.Error:
                conn.rollback()
                raise
            finally:
                conn.close()
            version = number
        return version

    # --- conversations --------------------------------------------------------------------------------
    def create_conversation(self, title: str = "", *, owner: str = "") -> str:
        conversation_id = uuid.uuid4().hex[:12]
        now = _now()
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO conversations (id, title, created_at, updated_at, owner) VALUES (?, ?, ?, ?, ?)",
                (conversation_id, title.strip()[:200], now, now, owner),
            )
        return conversation_id

    def get_conversation(self, conversation_id: str, *, owner: str | None = None) -> ConversationInfo | None:
        """One conversation; with ``owner`` only if it belongs to that owner (None = team view, any owner)."""
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        if row is None or (owner is not None and row["owner"] != owner):
            return None
        return ConversationInfo(**dict(row))

    def list_conversations(self, limit: int = 50, *, owner: str | None = None,
                           search: str = "") -> list[ConversationInfo]:
        """Newest first; ``owner`` limits to one owner's (None = team view), ``search`` matches titles."""
        where, args = ["1 = 1"], []
        if owner is not None:
            where.append("owner = ?")
            args.append(owner)
        if search.strip():
            where.append("title LIKE ? ESCAPE '\\'")
            args.append("%" + search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT * FROM conversations WHERE {' AND '.join(where)} ORDER BY updated_at DESC, rowid DESC"
                " LIMIT ?", (*args, limit),
            ).fetchall()
        return [ConversationInfo(**dict(r)) for r in rows]

    def delete_older_than(self, days: int) -> int:
        """Retention: delete conversations (messages, drafts, feedback cascade) untouched for ``days`` days."""
        from datetime import timedelta

        cutoff = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")
        with self._connect() as conn:
            cur = conn.execute("DELETE FROM conversations WHERE updated_at < ?", (cutoff,))
        return cur.rowcount

    def set_title(self, conversation_id: str, title: str) -> None:
        with self._connect() as conn:
            conn.execute("UPDATE conversations SET title = ? WHERE id = ?", (title.strip()[:200], conversation_id))

    def delete_conversation(self, conversation_id: str) -> bool:
        with self._connect() as conn:
            cur = conn.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
        return cur.rowcount > 0

    # --- messages -------------------------------------------------------------------------------------
    def add_message(
        self,
        conversation_id: str,
        role: str,
        content: str,
        *,
        citations: Sequence[Citation] = (),
        refused: bool = False,
        suggestions: Sequence[str] = (),
        kind: str = "chat",
        coverage: str = "",
    ) -> int:
        """Store a message; the first user question becomes the conversation's title."""
        with self._connect() as conn:
            return self._insert_message(conn, conversation_id, role, content, citations=citations,
                                        refused=refused, suggestions=suggestions, kind=kind, coverage=coverage)

    def create_conversation_with_message(self, role: str, content: str, *, owner: str = "",
                                         **kwargs: Any) -> tuple[str, int]:
        """A new conversation holding its first message, written in one transaction (so no other session's delete
        or retention clean-up can remove the conversation between the two); ``(conversation id, message id)``."""
        conversation_id = uuid.uuid4().hex[:12]
        now = _now()
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO conversations (id, title, created_at, updated_at, owner) VALUES (?, '', ?, ?, ?)",
                (conversation_id, now, now, owner),
            )
            return conversation_id, self._insert_message(conn, conversation_id, role, content, **kwargs)

    @staticmethod
    def _insert_message(conn: sqlite3.Connection, conversation_id: str, role: str, content: str, *,
                        citations: Sequence[Citation] = (), refused: bool = False, suggestions: Sequence[str] = (),
                        kind: str = "chat", coverage: str = "") -> int:
        now = _now()
        cur = conn.execute(
            "INSERT INTO messages (conversation_id, role, content, citations, refused, suggestions, kind,"
            " coverage, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                conversation_id, role, content,
                json.dumps([c.model_dump() for c in citations], ensure_ascii=False),
                int(refused), json.dumps(list(suggestions), ensure_ascii=False), kind, coverage, now,
            ),
        )
        conn.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))
        if role == "user":
            conn.execute(
                "UPDATE conversations SET title = ? WHERE id = ? AND title = ''",
                (" ".join(content.split())[:200], conversation_id),
            )
        return int(cur.lastrowid or 0)

    def messages(self, conversation_id: str) -> list[StoredMessage]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT * FROM messages WHERE conversation_id = ? ORDER BY id", (conversation_id,)
            ).fetchall()
        return [self._message(r) for r in rows]

    def get_message(self, message_id: int) -> StoredMessage | None:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
        return self._message(row) if row else None

    @staticmethod
    def _message(row: sqlite3.Row) -> StoredMessage:
        data = dict(row)
        data["citations"] = [Citation(**c) for c in json.loads(data["citations"] or "[]")]
        data["suggestions"] = json.loads(data["suggestions"] or "[]")
        data["refused"] = bool(data["refused"])
        return StoredMessage(**data)

    # --- template drafts ------------------------------------------------------------------------------
    def save_draft(self, conversation_id: str, template: str, draft_json: str, *, active: bool = True) -> None:
        """Insert or update the conversation's draft of ``template``; an active draft parks the others."""
        now = _now()
        with self._connect() as conn:
            if active:
                conn.execute("UPDATE drafts SET status = 'parked' WHERE conversation_id = ? AND template != ?",
                             (conversation_id, template))
            conn.execute(
                "INSERT INTO drafts (conversation_id, template, draft_json, status, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(conversation_id, template) DO UPDATE SET"
                " draft_json = excluded.draft_json, status = excluded.status, updated_at = excluded.updated_at",
                (conversation_id, template, draft_json, "active" if active else "parked", now),
            )
            conn.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))

    def load_draft(self, conversation_id: str, template: str) -> DraftRecord | None:
        return next(iter(self._drafts("d.conversation_id = ? AND d.template = ?", (conversation_id, template))), None)

    def active_draft(self, conversation_id: str) -> DraftRecord | None:
        return next(iter(self._drafts("d.conversation_id = ? AND d.status = 'active'", (conversation_id,))), None)

    def list_drafts(self, conversation_id: str | None = None, *, owner: str | None = None) -> list[DraftRecord]:
        """Drafts of one conversation, or of all conversations (of ``owner`` if given), newest first."""
        if conversation_id is None:
            return self._drafts("c.owner = ?", (owner,)) if owner is not None else self._drafts("1 = 1", ())
        return self._drafts("d.conversation_id = ?", (conversation_id,))

    def park_drafts(self, conversation_id: str) -> None:
        with self._connect() as conn:
            conn.execute("UPDATE drafts SET status = 'parked' WHERE conversation_id = ?", (conversation_id,))

    def delete_draft(self, conversation_id: str, template: str) -> bool:
        with self._connect() as conn:
            cur = conn.execute("DELETE FROM drafts WHERE conversation_id = ? AND template = ?",
                               (conversation_id, template))
        return cur.rowcount > 0

    def _drafts(self, where: str, args: tuple[Any, ...]) -> list[DraftRecord]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT d.*, c.title AS conversation_title FROM drafts d JOIN conversations c"
                f" ON c.id = d.conversation_id WHERE {where} ORDER BY d.updated_at DESC, d.rowid DESC", args,
            ).fetchall()
        return [DraftRecord(**dict(r)) for r in rows]

    # --- feedback -------------------------------------------------------------------------------------
    def save_feedback(self, message_id: int, *, score: int | None = None, comment: str | None = None) -> int:
        """Create or update the feedback on one assistant message (question, answer and sources are copied)."""
        message = self.get_message(message_id)
        if message is None or message.role != "assistant":
            raise ValueError(f"no assistant message with id {message_id}")
        question = self._question_before(message)
        sources = [c.public_dict() | {"chunk_id": c.chunk_id} for c in message.citations]
        now = _now()
        with self._connect() as conn:
            existing = conn.execute("SELECT id FROM feedback WHERE message_id = ?", (message_id,)).fetchone()
            if existing is None:
                cur = conn.execute(
                    "INSERT INTO feedback (message_id, conversation_id, score, comment, question, answer, sources,"
                    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        message_id, message.conversation_id, score, comment or "", question, message.content,
                        json.dumps(sources, ensure_ascii=False), now, now,
                    ),
                )
                return int(cur.lastrowid or 0)
            updates = {"updated_at": now}
            if score is not None:
                updates["score"] = score
            if comment is not None:
                updates["comment"] = comment
            assignments = ", ".join(f"{k} = ?" for k in updates)
            conn.execute(f"UPDATE feedback SET {assignments} WHERE id = ?", (*updates.values(), existing["id"]))
            return int(existing["id"])

    def clear_feedback_score(self, message_id: int) -> None:
        with self._connect() as conn:
            conn.execute("UPDATE feedback SET score = NULL, updated_at = ? WHERE message_id = ?", (_now(), message_id))

    def _question_before(self, message: StoredMessage) -> str:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT content FROM messages WHERE conversation_id = ? AND id < ? AND role = 'user'"
                " ORDER BY id DESC LIMIT 1",
                (message.conversation_id, message.id),
            ).fetchone()
        return str(row["content"]) if row else ""

    def feedback_for(self, message_id: int) -> FeedbackRecord | None:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM feedback WHERE message_id = ?", (message_id,)).fetchone()
        return self._feedback(row) if row else None

    def list_feedback(self) -> list[FeedbackRecord]:
        with self._connect() as conn:
            rows = conn.execute("SELECT * FROM feedback ORDER BY id").fetchall()
        return [self._feedback(r) for r in rows]

    @staticmethod
    def _feedback(row: sqlite3.Row) -> FeedbackRecord:
        data = dict(row)
        data["sources"] = json.loads(data["sources"] or "[]")
        return FeedbackRecord(**data)

    def export_feedback_json(self) -> str:
        rows = [self._export_row(f) for f in self.list_feedback()]
        return json.dumps(rows, ensure_ascii=False, indent=2)

    def export_feedback_csv(self) -> bytes:
        """CSV for Danish Excel: semicolon-separated, UTF-8 with BOM (so æ, ø, å open correctly)."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(FEEDBACK_COLUMNS), delimiter=";")
        writer.writeheader()
        for record in self.list_feedback():
            row = self._export_row(record)
            row["sources"] = "; ".join(
                f"[{s.get('n')}] {s.get('title')} > {s.get('section')} ({s.get('source_url')})" for s in record.sources
            )
            writer.writerow(row)
        return buffer.getvalue().encode("utf-8-sig")

    @staticmethod
    def _export_row(record: FeedbackRecord) -> dict[str, Any]:
        rating = {1: "op", 0: "ned"}.get(record.score, "") if record.score is not None else ""
        return {
            "id": record.id, "created_at": record.created_at, "updated_at": record.updated_at,
            "conversation_id": record.conversation_id, "message_id": record.message_id,
            "score": record.score, "rating": rating, "comment": record.comment,
            "question": record.question, "answer": record.answer, "sources": record.sources,
        }
