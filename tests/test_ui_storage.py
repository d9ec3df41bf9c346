"""UI persistence: schema migrations, conversations, drafts, feedback and its export."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest

from assistant.models import Citation
from assistant.storage import MIGRATIONS, Storage


def _citation(n: int = 1) -> Citation:
    return Citation(
        n=n, doc_id="guide-08-aftaler", title="Aftaler", section="Aftaler > Indhold",
        source_url="http://bygpartnerskaber.dk/aftaler", quote="En aftale beskriver formål og roller.",
        chunk_id="guide-08-aftaler:0:abc",
    )


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    return Storage(tmp_path / "app.sqlite3")


def test_fresh_database_is_at_latest_version(storage: Storage) -> None:
    assert storage.schema_version == len(MIGRATIONS)


def test_upgrades_a_version_1_database_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0] + "\nPRAGMA user_version = 1;")
    conn.execute("INSERT INTO conversations VALUES ('c1', 'Gammel', '2025-01-01', '2025-01-01')")
    conn.execute(
        "INSERT INTO messages (conversation_id, role, content, created_at) VALUES ('c1', 'user', 'Hej', 'x')"
    )
    conn.commit()
    conn.close()
    storage = Storage(path)
    assert storage.schema_version == len(MIGRATIONS)
    [message] = storage.messages("c1")
    assert message.kind == "chat" and message.content == "Hej"
    assert Storage(path).schema_version == len(MIGRATIONS)  # re-opening is a no-op


def test_conversation_title_messages_and_citations_roundtrip(storage: Storage) -> None:
    cid = storage.create_conversation()
    storage.add_message(cid, "user", "Hvad skal en samarbejdsaftale indeholde?")
    storage.add_message(cid, "assistant", "Formål og roller [1].", citations=[_citation()])
    storage.add_message(cid, "user", "Og hvad mere?")
    assert storage.get_conversation(cid).title == "Hvad skal en samarbejdsaftale indeholde?"
    messages = storage.messages(cid)
    assert [m.role for m in messages] == ["user", "assistant", "user"]
    assert messages[1].citations == [_citation()]
    assert [c.id for c in storage.list_conversations()] == [cid]


def test_refusal_keeps_suggestions(storage: Storage) -> None:
    cid = storage.create_conversation()
    storage.add_message(cid, "assistant", "Det står ikke i guiden.", refused=True, suggestions=["Aftaler"])
    [message] = storage.messages(cid)
    assert message.refused and message.suggestions == ["Aftaler"]


def test_delete_cascades(storage: Storage) -> None:
    cid = storage.create_conversation()
    answer = storage.add_message(cid, "assistant", "Svar")
    storage.save_draft(cid, "samarbejdsaftale", "{}")
    storage.save_feedback(answer, score=1)
    assert storage.delete_conversation(cid)
    assert storage.get_conversation(cid) is None
    assert storage.messages(cid) == [] and storage.list_drafts(cid) == [] and storage.list_feedback() == []


def test_several_drafts_per_conversation_one_active(storage: Storage) -> None:
    cid = storage.create_conversation("Aftale med museet")
    storage.save_draft(cid, "samarbejdsaftale", '{"a": 1}')
    storage.save_draft(cid, "samarbejdsaftale", '{"a": 2}')
    draft = storage.load_draft(cid, "samarbejdsaftale")
    assert draft.draft_json == '{"a": 2}' and draft.active and draft.conversation_title == "Aftale med museet"
    storage.save_draft(cid, "evalueringsplan", '{"b": 1}')  # starting another template parks the first
    assert not storage.load_draft(cid, "samarbejdsaftale").active
    assert storage.active_draft(cid).template == "evalueringsplan"
    assert {d.template for d in storage.list_drafts(cid)} == {"samarbejdsaftale", "evalueringsplan"}
    storage.park_drafts(cid)
    assert storage.active_draft(cid) is None
    assert storage.load_draft(cid, "samarbejdsaftale").draft_json == '{"a": 2}'  # parked, never lost
    other = storage.create_conversation()
    storage.save_draft(other, "samarbejdsaftale", '{"c": 1}')
    assert len(storage.list_drafts()) == 3 and len(storage.list_drafts(other)) == 1
    assert storage.delete_draft(other, "samarbejdsaftale") and storage.list_drafts(other) == []


def test_version_2_drafts_survive_the_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "v2.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0] + MIGRATIONS[1] + "\nPRAGMA user_version = 2;")
    conn.execute("INSERT INTO conversations VALUES ('c1', 'Gammel', '2025-01-01', '2025-01-01')")
    conn.execute("INSERT INTO drafts VALUES ('c1', 'samarbejdsaftale', '{\"old\": true}', 0, '2025-01-02')")
    conn.commit()
    conn.close()
    storage = Storage(path)
    draft = storage.load_draft("c1", "samarbejdsaftale")
    assert draft is not None and draft.draft_json == '{"old": true}' and draft.status == "parked"


def test_feedback_stores_question_answer_sources_and_exports(storage: Storage) -> None:
    cid = storage.create_conversation()
    storage.add_message(cid, "user", "Hvad er en aftale?")
    answer = storage.add_message(cid, "assistant", "En aftale [1].", citations=[_citation()])
    storage.save_feedback(answer, score=0)
    storage.save_feedback(answer, comment="Mangler eksempler")
    [record] = storage.list_feedback()
    assert (record.score, record.comment, record.question, record.answer) == (
        0, "Mangler eksempler", "Hvad er en aftale?", "En aftale [1]."
    )
    assert record.sources[0]["doc_id"] == "guide-08-aftaler"

    exported = json.loads(storage.export_feedback_json())
    assert exported[0]["rating"] == "ned" and exported[0]["sources"][0]["quote"] == _citation().quote
    data = storage.export_feedback_csv()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Danish Excel reads æøå correctly
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0]["question"] == "Hvad er en aftale?" and "Aftaler > Indhold" in rows[0]["sources"]
    assert rows[0]["comment"] == "Mangler eksempler" and rows[0]["rating"] == "ned"


def test_feedback_csv_keeps_danish_characters_and_semicolons(storage: Storage) -> None:
    cid = storage.create_conversation()
    storage.add_message(cid, "user", "Hvordan får vi Bøger & Æbler på plads; også i år?")
    answer = storage.add_message(cid, "assistant", "Sådan: først ønskerne, så økonomien [1].", citations=[_citation()])
    storage.save_feedback(answer, score=1, comment="Rigtig godt – især \"æøå\"; tak")
    [row] = list(csv.DictReader(io.StringIO(storage.export_feedback_csv().decode("utf-8-sig")), delimiter=";"))
    assert row["question"] == "Hvordan får vi Bøger & Æbler på plads; også i år?"
    assert row["comment"] == 'Rigtig godt – især "æøå"; tak' and row["rating"] == "op"


def test_concurrent_first_time_migration_is_safe(tmp_path: Path) -> None:
    """Six processes open the same fresh file at once: all succeed and the schema is applied once."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    db = tmp_path / "ny.sqlite3"
    code = "import sys; from assistant.storage import Storage; print(Storage(sys.argv[1]).schema_version)"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, cwd=root, env=env) for _ in range(6)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, [err for _, err in results]
    assert {out.strip() for out, _ in results} == {str(len(MIGRATIONS))}


def test_feedback_only_on_assistant_messages(storage: Storage) -> None:
    cid = storage.create_conversation()
    question = storage.add_message(cid, "user", "Hej")
    with pytest.raises(ValueError):
        storage.save_feedback(question, score=1)


def test_conversations_and_drafts_are_private_to_their_owner(storage: Storage) -> None:
    mine = storage.create_conversation(owner="a" * 32)
    theirs = storage.create_conversation(owner="b" * 32)
    storage.add_message(mine, "user", "Vores budget til partneren")
    storage.add_message(theirs, "user", "Fortroligt: deres budget_50%")
    storage.save_draft(theirs, "samarbejdsaftale", "{}")
    assert [c.id for c in storage.list_conversations(owner="a" * 32)] == [mine]
    assert storage.get_conversation(theirs, owner="a" * 32) is None
    assert storage.get_conversation(theirs) is not None  # the team view (explicit setting) sees all
    assert storage.list_drafts(owner="a" * 32) == [] and len(storage.list_drafts(owner="b" * 32)) == 1
    assert {c.id for c in storage.list_conversations()} == {mine, theirs}


def test_title_search_is_literal(storage: Storage) -> None:
    a = storage.create_conversation("Budget_50% for partnerskabet")
    storage.create_conversation("Budget5000 andet")
    storage.create_conversation("Evaluering")
    assert [c.id for c in storage.list_conversations(search="budget_50%")] == [a]
    assert len(storage.list_conversations(search="budget")) == 2


def test_retention_deletes_old_conversations_with_their_messages(storage: Storage) -> None:
    old = storage.create_conversation("Gammel")
    storage.add_message(old, "user", "Gammelt spørgsmål")
    new = storage.create_conversation("Ny")
    with storage._connect() as conn:
        conn.execute("UPDATE conversations SET updated_at = '2020-01-01T00:00:00+00:00' WHERE id = ?", (old,))
    assert storage.delete_older_than(90) == 1
    assert storage.get_conversation(old) is None and storage.messages(old) == []
    assert storage.get_conversation(new) is not None
