"""The pure part of an ingest: compare the chunks of the loaded documents with a snapshot of the index.

No I/O: ``plan_changes`` takes the documents' chunks and the :class:`~assistant.index.Snapshot` and returns an
:class:`~assistant.index.IndexPlan` (added / changed / deleted / unchanged per document, chunk counts).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from langchain_core.documents import Document

from assistant.index import Cleanup, DocChange, IndexPlan, Snapshot


def plan_document(doc_id: str, path: str, chunks: Sequence[Document], snapshot: Snapshot) -> DocChange:
    """One document: new ids are added, same id with other metadata updated, ids no longer produced stale."""
    stored = snapshot.by_doc.get(doc_id, {})
    to_add: list[Document] = []
    to_update: list[Document] = []
    for chunk in chunks:
        old = stored.get(str(chunk.id))
        if old is None or old.get("section") != chunk.metadata.get("section"):
            to_add.append(chunk)  # new, or its vector (heading path + text) changed
        elif old != chunk.metadata:
            to_update.append(chunk)
    new_ids = {str(c.id) for c in chunks}
    stale = sorted(cid for cid in stored if cid not in new_ids)
    if not stored:
        status = "added"
    elif to_add or to_update or stale:
        status = "changed"
    else:
        status = "unchanged"
    return DocChange(doc_id, path, status, list(chunks), to_add, to_update, stale)  # type: ignore[arg-type]


def plan_changes(
    documents: Iterable[tuple[str, str, Sequence[Document]]],
    snapshot: Snapshot,
    *,
    cleanup: Cleanup,
    protected: Iterable[str] = (),
) -> IndexPlan:
    """The plan for ``documents`` (``(doc_id, path, chunks)``). With ``cleanup="full"`` stored documents not
    among them are deleted, except ``protected`` ones (files that failed to load keep their old chunks)."""
    plan = IndexPlan(cleanup=cleanup)
    seen: set[str] = set()
    for doc_id, path, chunks in documents:
        seen.add(doc_id)
        plan.docs.append(plan_document(doc_id, path, chunks, snapshot))
    if cleanup == "full":
        keep = seen | set(protected)
        plan.deleted = {d: sorted(ids) for d, ids in sorted(snapshot.by_doc.items()) if d not in keep}
    return plan
