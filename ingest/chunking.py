"""Heading-aware chunking: ``MarkdownHeaderTextSplitter`` (sections) then ``RecursiveCharacterTextSplitter``.

Each chunk's ``page_content`` is the passage text only (no heading path), so quotes match the stored text.
Metadata follows docs/ARCHITECTURE.md: doc_id, title, kind, chapter, section, source_url, path, date,
chunk_index, content_hash, chunk_id (also the Chroma id, see :func:`make_chunk_id`).
"""

from __future__ import annotations

import hashlib
from collections import Counter

from langchain_core.documents import Document
from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

from assistant.settings import Settings
from ingest.loaders import LoadedDocument

HEADERS = [("#", "h1"), ("##", "h2"), ("###", "h3"), ("####", "h4"), ("#####", "h5"), ("######", "h6")]
SECTION_SEP = " > "


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def make_chunk_id(doc_id: str, text_hash: str, occurrence: int = 0) -> str:
    """``doc_id:hash16``; the n-th repeat of the same text in one document gets ``-n`` (n >= 2).

    Independent of the chunk's position, so inserting or moving a section leaves the other ids as they were.
    """
    base = f"{doc_id}:{text_hash[:16]}"
    return base if occurrence == 0 else f"{base}-{occurrence + 1}"


def chunk_document(doc: LoadedDocument, settings: Settings) -> list[Document]:
    """Split one loaded document into chunks with the contract metadata (ids set on ``Document.id``)."""
    header_splitter = MarkdownHeaderTextSplitter(HEADERS, strip_headers=True)
    text_splitter = RecursiveCharacterTextSplitter(
        chunk_size=settings.chunk_size,
        chunk_overlap=min(settings.chunk_overlap, max(0, settings.chunk_size // 2)),
        separators=["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""],
        keep_separator="end",
    )
    chunks: list[Document] = []
    seen: Counter[str] = Counter()
    for section_doc in header_splitter.split_text(doc.body):
        path = [str(section_doc.metadata[key]) for _, key in HEADERS if key in section_doc.metadata]
        section = SECTION_SEP.join(path) if path else doc.title
        # The header splitter joins paragraphs with "  \n"; loaders strip trailing spaces, so this restores
        # the original blank line exactly and lets the recursive splitter cut at paragraph breaks.
        content = section_doc.page_content.replace("  \n", "\n\n")
        for piece in text_splitter.split_text(content):
            text = piece.strip()
            if not text:
                continue
            index = len(chunks)
            digest = content_hash(text)
            chunk_id = make_chunk_id(doc.doc_id, digest, seen[digest])
            seen[digest] += 1
            metadata = {
                "doc_id": doc.doc_id,
                "title": doc.title,
                "kind": doc.kind,
                "chapter": int(doc.chapter),
                "section": section,
                "source_url": doc.source_url,
                "path": doc.path,
                "date": doc.date,
                "chunk_index": index,
                "content_hash": digest,
                "chunk_id": chunk_id,
            }
            chunks.append(Document(id=chunk_id, page_content=text, metadata=metadata))
    return chunks
