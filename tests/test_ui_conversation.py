"""The plain conversation service: answer scope reaching retrieval (real index), titles, counts, timestamps."""

from __future__ import annotations

import pytest

from assistant.retrieval import Retriever, _matches
from assistant.settings import Settings
from ui import conversation
from ui.conversation_service import store_message


def test_scope_filters() -> None:
    assert conversation.scope_filters("Guiden og jeres dokumenter") is None
    assert conversation.scope_filters(None) is None
    only = conversation.scope_filters("Kun guiden")
    assert only is not None and "dokument" not in only["kind"] and "guide" in only["kind"]


def test_multi_kind_filter_matches_any_of_the_kinds() -> None:
    assert _matches({"kind": "case"}, {"kind": ["case", "tool"]})
    assert not _matches({"kind": "dokument"}, {"kind": ["case", "tool"]})
    with pytest.raises(ValueError, match="Tomt filter"):
        _matches({"kind": "case"}, {"kind": []})


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_multi_kind_filter_reaches_both_retrievers(corpus_settings: Settings, mode: str) -> None:
    retriever = Retriever.from_settings(corpus_settings)
    hits = retriever.search("samarbejde med en lokal partner", k=8, mode=mode, filters={"kind": ["case", "tool"]})
    kinds = {h.metadata.get("kind") for h in hits}
    assert hits and kinds <= {"case", "tool"} and len(kinds) == 2, kinds


def test_plural() -> None:
    assert [conversation.plural(n, "vurdering", "vurderinger") for n in (0, 1, 2)] == [
        "0 vurderinger", "1 vurdering", "2 vurderinger"]


def test_message_for_a_deleted_conversation_is_kept_in_a_new_one(tmp_path) -> None:
    from assistant.storage import Storage

    storage = Storage(tmp_path / "app.sqlite3")
    cid, first, moved = store_message(storage, None, "user", "Hvad er et partnerskab?")
    assert not moved and storage.messages(cid)[0].id == first
    storage.delete_conversation(cid)  # e.g. deleted in another browser tab
    new_cid, mid, moved = store_message(storage, cid, "user", "Fortroligt: vores budget?")
    assert moved and new_cid != cid
    assert [m.content for m in storage.messages(new_cid)] == ["Fortroligt: vores budget?"]
    assert storage.get_message(mid) is not None


def test_message_survives_deletion_between_check_and_insert(tmp_path, monkeypatch) -> None:
    from assistant.storage import Storage

    storage = Storage(tmp_path / "app.sqlite3")
    cid = storage.create_conversation()
    real_get = storage.get_conversation
    def racing_get(c: str, owner: str | None = None):  # another session deletes right after the check
        found = real_get(c, owner=owner)
        storage.delete_conversation(c)
        return found

    monkeypatch.setattr(storage, "get_conversation", racing_get)
    new_cid, mid, moved = store_message(storage, cid, "user", "Spørgsmål")
    assert moved and new_cid != cid and storage.get_message(mid).content == "Spørgsmål"


def test_readable_danish_time_and_sidebar_title() -> None:
    assert conversation.readable_time("2026-12-02T00:19:00+00:00") == "2. dec. 2026 kl. 01.19"
    assert conversation.readable_time("2026-07-01T10:00:00+00:00", with_time=False) == "1. jul. 2026"
    assert conversation.readable_time("ikke en dato") == ""
    long = "Hvad skal en samarbejdsaftale med kulturhuset om læseklubber indeholde?"
    label = conversation.sidebar_title(long, "2026-12-02T00:19:00+00:00", has_draft=True)
    assert label.startswith("✎ Hvad skal en") and "…" in label and label.endswith("· 2. dec. 2026")
    assert conversation.sidebar_title("", "", has_draft=False) == "(ny samtale) · "


def test_topic_title_is_the_asked_sentence_without_greetings_cut_at_a_word() -> None:
    assert conversation.topic_title("Hvad skal en samarbejdsaftale indeholde?") == (
        "Hvad skal en samarbejdsaftale indeholde?")
    long = ("Hej! Jeg er ny på biblioteket i Køge og skal i gang med et partnerskab med en skole. "
            "Hvordan kommer vi i gang?")
    assert conversation.topic_title(long) == "Hvordan kommer vi i gang?"  # the sentence that asks
    assert conversation.topic_title("hej igen, vi vil gerne lave en læseklub med skolen") == (
        "Lave en læseklub med skolen")
    assert conversation.topic_title("Hej") == "Hej" and conversation.topic_title("  ") == ""  # never empty by dropping
    title = conversation.topic_title("Hvordan " + "samarbejder biblioteker og museer om udstillinger " * 3)
    assert len(title) <= conversation.TITLE_WIDTH and title.endswith("…")
    assert title[:-1].split()[-1] in {"samarbejder", "biblioteker", "og", "museer", "om", "udstillinger"}


def test_shorten_keeps_whole_words() -> None:
    assert conversation.shorten("  Formål   og mål ", 20) == "Formål og mål"
    assert conversation.shorten("Samarbejdsaftale med kulturhuset", 24) == "Samarbejdsaftale med…"
    assert conversation.shorten("Samarbejdsaftalerne", 10) == "Samarbejd…"  # one long word: cut it


def test_a_new_conversation_cannot_vanish_before_its_message(tmp_path, monkeypatch) -> None:
    """Another session deletes every conversation the moment it appears (python -m evals attacks found the retry
    failing with an IntegrityError): the message still lands, with its conversation, in one transaction."""
    import threading

    from assistant.storage import Storage

    storage = Storage(tmp_path / "app.sqlite3")
    cid = storage.create_conversation(owner="ejer")
    real_create, real_add = storage.create_conversation, storage.add_message

    def create_and_lose(*args, **kwargs):  # retention or another tab removes a bare new conversation at once
        new = real_create(*args, **kwargs)
        storage.delete_conversation(new)
        return new

    def add_after_delete(conversation_id, *args, **kwargs):  # the open conversation is deleted in another tab
        storage.delete_conversation(conversation_id)
        return real_add(conversation_id, *args, **kwargs)

    monkeypatch.setattr(storage, "create_conversation", create_and_lose)
    monkeypatch.setattr(storage, "add_message", add_after_delete)
    new_cid, mid, moved = store_message(storage, cid, "user", "Fortroligt: vores budget?", owner="ejer")
    assert moved and storage.get_message(mid).conversation_id == new_cid
    assert storage.get_conversation(new_cid, owner="ejer").title == "Fortroligt: vores budget?"
    monkeypatch.undo()

    errors, stored, stop = [], [], threading.Event()

    def writer() -> None:
        conv = storage.create_conversation(owner="ejer")
        for i in range(40):
            try:
                conv, message_id, _moved = store_message(storage, conv, "user", f"{i}", owner="ejer")
                stored.append(message_id)
            except Exception as exc:
                errors.append(repr(exc))

    def deleter() -> None:
        while not stop.is_set():
            for info in storage.list_conversations(50, owner="ejer"):
                storage.delete_conversation(info.id)

    threads = [threading.Thread(target=writer) for _ in range(3)]
    remover = threading.Thread(target=deleter)
    remover.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    remover.join()
    assert errors == [] and len(stored) == 120
