"""``python -m evals bench``: ingest throughput, re-ingest, query latency, memory, scaling, Chroma server.

Everything is built in a temporary directory from the real corpus; nothing in ``data/`` is touched.
Synthetic corpora (scale N) are N copies of the corpus with new doc_ids and a noise sentence per section,
so every chunk is distinct and is really embedded (no paraphrasing, no model in the loop).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings
from rich.table import Table

from assistant.settings import RetrievalMode, Settings, get_settings
from evals.metrics import percentile
from evals.report import environment, fmt, markdown_table

MODES: tuple[RetrievalMode, ...] = ("bm25", "dense", "hybrid")
NOISE_WORDS = ("kopi", "variant", "syntetisk", "afprøvning", "skala", "måling", "eksemplar", "udgave")
REUSE_MIN_SCALE = 100  # ``--reuse-vectors`` applies from this scale; smaller scales are always fully embedded
REUSE_NOTE = "vektorer genbrugt; embedding ikke med i ingest-tiden"
_NOISE_RE = re.compile(r"Syntetisk kopi \d+ til skaleringstest:[^.\n]*\.|\s*\(kopi \d+\)")


# --- helpers -------------------------------------------------------------------------------------------------
def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def latency(fn: Callable[[str], Any], queries: Sequence[str]) -> dict[str, float]:
    """p50/p95/mean in milliseconds of ``fn(query)`` over ``queries``."""
    times = []
    for q in queries:
        _, seconds = _timed(lambda q=q: fn(q))
        times.append(seconds * 1000)
    return {"p50_ms": round(percentile(times, 50), 1), "p95_ms": round(percentile(times, 95), 1),
            "mean_ms": round(sum(times) / len(times), 1), "n": len(times)}


def dir_size_mb(path: Path) -> float:
    total = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0
    return round(total / 2**20, 2)


def bench_settings(base: Settings, data_dir: Path, corpus_dir: Path | None = None, **extra: Any) -> Settings:
    """Settings for a bench index in ``data_dir`` (embedded Chroma unless ``chroma_host`` is given; no LLM)."""
    update: dict[str, Any] = {"data_dir": data_dir, "chroma_host": None, "llm_backend": "none", **extra}
    if corpus_dir is not None:
        update["corpus_dir"] = corpus_dir
    return base.model_copy(update=update)


# --- ingest ---------------------------------------------------------------------------------------------------
def bench_ingest(settings: Settings) -> dict[str, Any]:
    """First ingest (chunks/s), raw embedding throughput of the same texts, and a no-change re-ingest."""
    from assistant.embeddings import get_embeddings
    from assistant.index import embedding_text, open_index
    from ingest.pipeline import run_ingest

    embeddings, load_s = _timed(lambda: get_embeddings(settings))
    embeddings.embed_documents(["opvarmning"])  # model loaded and warm before anything is timed
    first = run_ingest(None, settings)
    lexical = open_index(settings).lexical
    texts = [embedding_text(text, meta) for text, meta in zip(lexical.texts, lexical.metadatas, strict=True)]
    _, embed_s = _timed(lambda: embeddings.embed_documents(texts))
    again = run_ingest(None, settings)
    return {
        "model_load_s": round(load_s, 2),
        "documents": first.documents_total,
        "chunks": first.chunks_total,
        "ingest_s": round(first.duration_s, 2),
        "ingest_chunks_per_s": round(first.embedded / first.duration_s, 1) if first.duration_s else None,
        "units_embedded": first.units_embedded,  # answer units + headings, embedded at ingest too
        "raw_embed_s": round(embed_s, 2),
        "raw_embed_texts_per_s": round(len(texts) / embed_s, 1) if embed_s else None,
        "embedding_share_of_ingest": round(embed_s / first.duration_s, 3) if first.duration_s else None,
        "reingest_s": round(again.duration_s, 2),
        "reingest_embedded": again.embedded,
        "reingest_collection_reads": again.collection_reads,
        "index_mb": dir_size_mb(settings.index_dir),
    }


INSERT_DOC = Path("guide") / "guide-08-aftaler.md"
INSERT_BEFORE = "## Hvorfor skal partnerskabet have klare aftaler?"
INSERT_SECTION = """## Hvem underskriver aftalen?

Aftalen underskrives af lederen på begge sider, så den har opbakning fra toppen af organisationerne.

Hver part gemmer et underskrevet eksemplar, og kopien lægges i bibliotekets fælles mappe for partnerskaber.

"""


def bench_insert_section(settings: Settings) -> dict[str, Any]:
    """Insert one new section near the top of ``guide-08-aftaler.md`` (in ``settings.corpus_dir``, which must be
    a copy) and re-ingest: the texts embedded must equal the new distinct texts (vectors are reused by hash)."""
    from assistant.index import vector_key
    from ingest.chunking import chunk_document
    from ingest.loaders import load_file
    from ingest.pipeline import run_ingest

    file = settings.corpus_dir / INSERT_DOC
    keys = lambda: {vector_key(c.page_content, c.metadata)  # noqa: E731
                    for c in chunk_document(load_file(file, settings, root=settings.corpus_dir), settings)}
    before = keys()
    text = file.read_text(encoding="utf-8")
    if INSERT_BEFORE not in text:
        raise RuntimeError(f"{INSERT_DOC} har ikke afsnittet «{INSERT_BEFORE}»")
    file.write_text(text.replace(INSERT_BEFORE, INSERT_SECTION + INSERT_BEFORE, 1), encoding="utf-8")
    new_texts = len(keys() - before)
    report = run_ingest(None, settings)
    return {"insert_section_new_texts": new_texts, "insert_section_embedded": report.embedded,
            "insert_section_units_embedded": report.units_embedded,
            "insert_section_chunks_added": report.chunks_added, "insert_section_chunks_deleted": report.chunks_deleted,
            "insert_section_chunks_renumbered": report.chunks_updated, "insert_section_s": round(report.duration_s, 2),
            "insert_section_collection_reads": report.collection_reads}


# --- latency ------------------------------------------------------------------------------------------------------
def bench_latency(settings: Settings, queries: Sequence[str]) -> dict[str, Any]:
    """Retrieval latency per mode and whole extractive answers (first pass cold, second pass warm).

    Every measurement starts from a new retriever, so no query vector is reused from an earlier mode
    (the retriever caches recent query vectors); the warm pass repeats the same questions.
    """
    from assistant.core import Assistant
    from assistant.retrieval import Retriever

    def fresh() -> Retriever:
        retriever = Retriever.from_settings(settings)
        retriever.search("opvarmning af modellen", mode="hybrid")
        return retriever

    retriever, load_s = _timed(lambda: Retriever.from_settings(settings))
    out: dict[str, Any] = {"retriever_load_s": round(load_s, 2), "chunks": len(retriever.lexical)}
    for mode in MODES:
        retriever = fresh()
        out[f"retrieval_{mode}"] = latency(lambda q, r=retriever, mode=mode: r.search(q, mode=mode), queries)
    assistant = Assistant(settings, fresh(), None)
    out["answer_cold"] = latency(assistant.ask, queries)

    def uncached(fn: Callable[[str], Any]) -> Callable[[str], Any]:
        """``fn`` with the retriever's query-vector cache emptied first, so every call embeds its query."""
        def call(q: str) -> Any:
            assistant.retriever._query_cache.clear()
            return fn(q)
        return call

    # Warm process (model, index and unit vectors loaded), but every question embeds its query again: the
    # query embedding is the floor of an answer, reported beside it.
    out["query_embedding"] = latency(uncached(assistant.retriever.embed_query), queries)
    out["answer_warm"] = latency(uncached(assistant.ask), queries)
    return out


# --- memory --------------------------------------------------------------------------------------------------------
def memory_probe() -> dict[str, float]:
    """Run in a fresh interpreter: RSS before imports, after loading the assistant, after one answer."""
    import psutil

    proc = psutil.Process()
    mb = lambda: round(proc.memory_info().rss / 2**20, 1)  # noqa: E731
    baseline = mb()
    from assistant.core import Assistant

    imported = mb()
    assistant = Assistant.from_settings(get_settings())
    loaded = mb()
    assistant.ask("Hvordan evaluerer man et partnerskab løbende?")
    return {"baseline_mb": baseline, "after_imports_mb": imported, "assistant_loaded_mb": loaded,
            "after_first_answer_mb": mb()}


def bench_memory(settings: Settings) -> dict[str, Any]:
    """:func:`memory_probe` in a subprocess, configured through ``PA_*`` environment variables."""
    env = {**os.environ, "PA_DATA_DIR": str(settings.data_dir), "PA_CORPUS_DIR": str(settings.corpus_dir),
           "PA_LLM_BACKEND": "none", "PA_EMBEDDING_BACKEND": settings.embedding_backend}
    env.pop("PA_CHROMA_HOST", None)
    code = "import json; from evals.bench import memory_probe; print(json.dumps(memory_probe()))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=Path(__file__).resolve().parent.parent, timeout=600)
    if done.returncode != 0:
        return {"error": done.stderr.strip()[-2000:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- scaling --------------------------------------------------------------------------------------------------------
def _with_noise(text: str, copy: int, rng: random.Random) -> str:
    """The body with a noise sentence after every heading (so every chunk of a copy is distinct)."""
    out = []
    for line in text.splitlines():
        out.append(line)
        if line.startswith("#"):
            words = " ".join(rng.choice(NOISE_WORDS) for _ in range(4))
            out.append(f"\nSyntetisk kopi {copy} til skaleringstest: {words}.\n")
    return "\n".join(out) + "\n"


def synthetic_corpus(source: Path, target: Path, scale: int, seed: int = 7) -> int:
    """Write ``scale`` copies of the Markdown corpus to ``target`` (copy 0 = the real files); returns files."""
    import frontmatter

    rng = random.Random(seed)
    files = sorted(p for p in source.rglob("*.md") if not p.name.startswith(("README", ".")))
    written = 0
    for copy in range(scale):
        for path in files:
            post = frontmatter.loads(path.read_text(encoding="utf-8"))
            if copy:
                post["id"] = f"{post.get('id', path.stem)}-x{copy}"
                post["title"] = f"{post.get('title', path.stem)} (kopi {copy})"
                post.content = _with_noise(post.content, copy, rng)
            out = target / f"copy{copy:03d}" / path.relative_to(source)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(frontmatter.dumps(post) + "\n", encoding="utf-8")
            written += 1
    return written


def source_key(text: str) -> str:
    """A synthetic chunk's text without the noise sentence and "(kopi N)" marks (= its source chunk's text)."""
    return " ".join(_NOISE_RE.sub(" ", text).split())


class ReusingEmbeddings(Embeddings):
    """Embeds each *source* text once (see :func:`source_key`); copies get the source vector plus a tiny
    deterministic jitter (so HNSW holds distinct, near-duplicate points, as the noisy copies would be).

    ``documents_embedded`` counts real model calls (the ingest report reads it); ``documents_reused`` the rest.
    """

    def __init__(self, inner: Any, jitter: float = 0.01) -> None:
        self.inner, self.jitter = inner, jitter
        self.cache: dict[str, np.ndarray] = {}
        self.documents_embedded = self.documents_reused = 0

    def _jittered(self, vector: np.ndarray, text: str) -> list[float]:
        seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
        noisy = vector + np.random.default_rng(seed).normal(0.0, self.jitter, vector.shape)
        return (noisy / np.linalg.norm(noisy)).astype(np.float32).tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._reuse(texts, "", self.inner.embed_documents)

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        """Heading paths, which the index stores as queries (their own cache entries)."""
        return self._reuse(texts, "query: ", self.inner.embed_queries)

    def _reuse(self, texts: list[str], tag: str, embed: Callable[[list[str]], Any]) -> list[list[float]]:
        keys = [tag + source_key(t) for t in texts]
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in self.cache}
        if missing:
            vectors = embed(list(missing.values()))
            self.cache.update((k, np.asarray(v, dtype=np.float32)) for k, v in zip(missing, vectors, strict=True))
        self.documents_embedded += len(missing)
        self.documents_reused += len(texts) - len(missing)
        return [self.cache[k].tolist() if missing.get(k) == t else self._jittered(self.cache[k], t)
                for k, t in zip(keys, texts, strict=True)]

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


@contextlib.contextmanager
def reused_vectors(settings: Settings) -> Iterator[ReusingEmbeddings]:
    """While active, every ingest (``ingest.pipeline``) embeds through one shared :class:`ReusingEmbeddings`."""
    from unittest import mock

    from assistant.embeddings import get_embeddings

    wrapper = ReusingEmbeddings(get_embeddings(settings))
    with mock.patch("ingest.pipeline.get_embeddings", lambda _settings: wrapper):
        yield wrapper


def bench_scale(base: Settings, workdir: Path, scale: int, queries: Sequence[str],
                log: Callable[[str], None] = print, reuse_vectors: bool = False) -> dict[str, Any]:
    """Ingest and query a synthetic corpus of ``scale`` x the real size.

    With ``reuse_vectors`` only the source chunks are embedded (:class:`ReusingEmbeddings`), so ``ingest_s``
    measures chunking, Chroma upserts (HNSW growth) and the BM25 build, not embedding.
    """
    from ingest.pipeline import run_ingest

    root = workdir / f"scale-{scale}"
    files = synthetic_corpus(base.corpus_dir, root / "corpus", scale)
    settings = bench_settings(base, root / "data", root / "corpus")
    log(f"Skala {scale}x: {files} filer{' (' + REUSE_NOTE + ')' if reuse_vectors else ''} …")
    with reused_vectors(settings) if reuse_vectors else contextlib.nullcontext() as wrapper:
        report = run_ingest(None, settings)
    out: dict[str, Any] = {
        "scale": scale, "files": files, "chunks": report.chunks_total, "ingest_s": round(report.duration_s, 2),
        "ingest_chunks_per_s": round(report.embedded / report.duration_s, 1) if report.duration_s else None,
        "index_mb": dir_size_mb(settings.index_dir),
    }
    if wrapper is not None:
        out.update(vectors_reused=True, note=REUSE_NOTE, ingest_chunks_per_s=None,
                   texts_embedded=wrapper.documents_embedded, texts_reused=wrapper.documents_reused)
    try:
        out["reingest_s"] = round(run_ingest(None, settings).duration_s, 2)
    except Exception as exc:  # a failure at scale is a result too; record it and go on measuring latency
        out.update(reingest_s=None, reingest_error=f"{type(exc).__name__}: {exc}")
        log(f"  re-ingest fejlede: {out['reingest_error']}")
    lat = bench_latency(settings, queries)
    out.update(retriever_load_s=lat["retriever_load_s"],
               **{f"{mode}_p50_ms": lat[f"retrieval_{mode}"]["p50_ms"] for mode in MODES},
               **{f"{mode}_p95_ms": lat[f"retrieval_{mode}"]["p95_ms"] for mode in MODES},
               answer_p50_ms=lat["answer_cold"]["p50_ms"], answer_p95_ms=lat["answer_cold"]["p95_ms"],
               answer_warm_p50_ms=lat["answer_warm"]["p50_ms"], answer_warm_p95_ms=lat["answer_warm"]["p95_ms"],
               query_embedding_p50_ms=lat["query_embedding"]["p50_ms"])
    shutil.rmtree(root, ignore_errors=True)
    log(f"  {out['chunks']} tekststykker, ingest {out['ingest_s']} s, hybrid p50 {out['hybrid_p50_ms']} ms")
    return out


def growth(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Cost at each scale relative to the smallest scale (1.0 = same cost)."""
    if not rows:
        return {}
    first = rows[0]
    keys = ("chunks", "ingest_s", "reingest_s", "index_mb", "bm25_p50_ms", "dense_p50_ms", "hybrid_p50_ms",
            "answer_p50_ms", "answer_warm_p50_ms", "answer_warm_p95_ms")
    return {str(r["scale"]): {k: round(r[k] / first[k], 2) for k in keys
                              if first.get(k) and r.get(k) is not None
                              and not (k == "ingest_s" and r.get("vectors_reused"))}
            for r in rows}


def merge_scaling(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``old`` with ``new``'s scaling rows added (replacing rows of the same scale) and growth recomputed."""
    rows = {r["scale"]: r for r in old.get("scaling", [])} | {r["scale"]: r for r in new["scaling"]}
    merged = {**old, "scaling": [rows[s] for s in sorted(rows)]}
    merged["growth"] = growth(merged["scaling"])
    merged["meta"] = {**old["meta"], "scales": sorted(rows), "merged_runs": [
        *old["meta"].get("merged_runs", []),
        {"scales": new["meta"]["scales"], "duration_s": new["meta"]["duration_s"],
         "environment": new["meta"]["environment"]}]}
    return merged


# --- Chroma server ------------------------------------------------------------------------------------------------
def bench_server(base: Settings, workdir: Path, queries: Sequence[str]) -> dict[str, Any]:
    """The same ingest and queries against a Chroma server on localhost."""
    from assistant.index.server import local_chroma_server

    with local_chroma_server(workdir / "server-db") as port:
        settings = bench_settings(base, workdir / "server-data", chroma_host="127.0.0.1", chroma_port=port)
        ingest = bench_ingest(settings)
        ingest.pop("index_mb", None)
        ingest["server_db_mb"] = dir_size_mb(workdir / "server-db")
        return {"port": port, "ingest": ingest, "latency": bench_latency(settings, queries)}


# --- whole bench ----------------------------------------------------------------------------------------------------
def run_bench(scales: Sequence[int] = (1, 10), n_queries: int = 40, server: bool = True,
              log: Callable[[str], None] = print, reuse_vectors: bool = False,
              scales_only: bool = False, browser: bool = True) -> dict[str, Any]:
    """The whole bench; ``scales_only`` runs just the scaling part (for merging into an earlier result)."""
    from evals.dataset import load_gold
    from evals.runner import public_settings

    base = get_settings()
    queries = [q.question for q in load_gold().questions][:n_queries]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pa-bench-") as tmp:
        work = Path(tmp)
        shutil.copytree(base.corpus_dir, work / "corpus")  # a copy: the insert-a-section bench edits it
        embedded = bench_settings(base, work / "embedded", work / "corpus")
        result: dict[str, Any] = {}
        if not scales_only:
            log("Ingest af det rigtige korpus (indlejret Chroma) …")
            result["ingest"] = bench_ingest(embedded)
            log("Svartider …")
            result["latency"] = bench_latency(embedded, queries)
            log("Hukommelse …")
            result["memory"] = bench_memory(embedded)
            log("Nyt afsnit i guide-08-aftaler …")
            result["ingest"].update(bench_insert_section(embedded))
            if browser:
                from evals import browser_bench

                result["browser"] = browser_bench.run(embedded, log)
        result["scaling"] = [bench_scale(base, work, s, queries, log, reuse_vectors and s >= REUSE_MIN_SCALE)
                             for s in scales]
        result["growth"] = growth(result["scaling"])
        if server and not scales_only:
            log("Chroma-server …")
            try:
                result["chroma_server"] = bench_server(base, work, queries)
            except RuntimeError as exc:
                result["chroma_server"] = {"error": str(exc)}
        result["meta"] = {"duration_s": round(time.perf_counter() - started, 1), "queries": len(queries),
                          "scales": list(scales), "settings": public_settings(embedded),
                          "environment": environment()}
    return result


# --- output ----------------------------------------------------------------------------------------------------------
def _summary_rows(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(metric, embedded, server) rows for the side-by-side table."""
    ing, lat = result["ingest"], result["latency"]
    srv = result.get("chroma_server") or {}
    s_ing, s_lat = srv.get("ingest", {}), srv.get("latency", {})

    def row(label: str, a: Any, b: Any, kind: str = "num") -> tuple[str, str, str]:
        return label, fmt(a, kind), fmt(b, kind) if srv and "error" not in srv else "–"

    rows = [
        row("tekststykker", ing["chunks"], s_ing.get("chunks")),
        row("ingest (s)", ing["ingest_s"], s_ing.get("ingest_s")),
        row("ingest (tekststykker/s)", ing["ingest_chunks_per_s"], s_ing.get("ingest_chunks_per_s")),
        row("rå embedding (tekster/s)", ing["raw_embed_texts_per_s"], s_ing.get("raw_embed_texts_per_s")),
        row("re-ingest uden ændringer (s)", ing["reingest_s"], s_ing.get("reingest_s")),
        row("re-ingest: embeddede tekster", ing["reingest_embedded"], s_ing.get("reingest_embedded")),
        row("re-ingest: hele samlingen læst (gange)", ing.get("reingest_collection_reads"),
            s_ing.get("reingest_collection_reads")),
        row("nyt afsnit: nye forskellige tekster / embeddet",
            f"{ing.get('insert_section_new_texts', '–')} / {ing.get('insert_section_embedded', '–')}", None),
    ]
    for mode in MODES:
        key = f"retrieval_{mode}"
        rows.append(row(f"søgning {mode} p50 / p95 (ms)", f"{lat[key]['p50_ms']:.0f} / {lat[key]['p95_ms']:.0f}",
                        f"{s_lat[key]['p50_ms']:.0f} / {s_lat[key]['p95_ms']:.0f}" if key in s_lat else None))
    for key, label in (("answer_cold", "helt svar, kold"), ("query_embedding", "spørgsmålets embedding (gulv)"),
                       ("answer_warm", "helt svar, varm")):
        rows.append(row(f"{label} p50 / p95 (ms)", f"{lat[key]['p50_ms']:.0f} / {lat[key]['p95_ms']:.0f}",
                        f"{s_lat[key]['p50_ms']:.0f} / {s_lat[key]['p95_ms']:.0f}" if key in s_lat else None))
    return rows


def bench_table(result: dict[str, Any]) -> Table:
    table = Table(title="Benchmark (indlejret Chroma vs. Chroma-server)")
    for col in ("mål", "indlejret", "server"):
        table.add_column(col, justify="left" if col == "mål" else "right")
    for r in _summary_rows(result):
        table.add_row(*r)
    mem = result.get("memory", {})
    if "assistant_loaded_mb" in mem:
        table.add_row("RSS: indlæst assistent / efter første svar (MB)",
                      f"{mem['assistant_loaded_mb']:.0f} / {mem['after_first_answer_mb']:.0f}", "")
    from evals.browser_bench import table_rows

    for r in table_rows(result):
        table.add_row(*r)
    for r in result["scaling"]:
        table.add_row(f"skala {r['scale']}x: {r['chunks']} stk., ingest {r['ingest_s']} s",
                      f"hybrid p50 {r['hybrid_p50_ms']:.0f} ms", "")
    return table


def bench_markdown(result: dict[str, Any]) -> str:
    from evals.browser_bench import markdown_lines

    meta = result["meta"]
    env = meta["environment"]
    mem = result.get("memory", {})
    parts = [
        "# Benchmarks",
        "",
        f"Kørt {env['timestamp']} (commit {env['git_commit']}) på {env['cpus']} kerner, Python {env['python']}, "
        f"{meta['duration_s']} s i alt. Embedding: `{meta['settings']['embedding_backend']}`; "
        f"{meta['queries']} spørgsmål fra guldsættet pr. latensmåling; ingen LLM (ekstraktive svar).",
        *(f"Skala {', '.join(f'{s}x' for s in run['scales'])} flettet ind fra en senere kørsel "
          f"{run['environment'].get('timestamp', '')} (commit {run['environment'].get('git_commit', '?')}, "
          f"{run['duration_s']} s; `--merge`)." for run in meta.get("merged_runs", [])),
        "",
        "## Indlejret Chroma og Chroma-server side om side",
        "",
        markdown_table(["mål", "indlejret", "server"], _summary_rows(result)),
        "",
        f"Modelindlæsning {result['ingest']['model_load_s']} s; indeks på disk {result['ingest']['index_mb']} MB; "
        f"embedding udgør {fmt(result['ingest']['embedding_share_of_ingest'])} % af ingest-tiden.",
        "",
        *markdown_lines(result),
        "## Hukommelse (RSS, separat proces)",
        "",
        ("Fejl: " + mem["error"]) if "error" in mem else
        markdown_table(["før import", "efter import", "assistent indlæst", "efter første svar"],
                       [[f"{mem[k]:.0f} MB" for k in ("baseline_mb", "after_imports_mb", "assistant_loaded_mb",
                                                      "after_first_answer_mb")]]),
        "",
        "## Skalering (syntetiske korpusser: N kopier med nye doc_ids og støj)",
        "",
        markdown_table(
            ["skala", "tekststykker", "ingest s", "stk./s", "re-ingest s", "indeks MB", "bm25 p50/p95 ms",
             "dense p50/p95 ms", "hybrid p50/p95 ms", "svar p50 ms"],
            [[f"{r['scale']}x" + ("*" if r.get("vectors_reused") else ""), str(r["chunks"]),
              fmt(r["ingest_s"], "num"), fmt(r["ingest_chunks_per_s"], "num"),
              fmt(r["reingest_s"], "num"), fmt(r["index_mb"], "num"),
              *(f"{r[f'{m}_p50_ms']:.0f} / {r[f'{m}_p95_ms']:.0f}" for m in MODES), f"{r['answer_p50_ms']:.0f}"]
             for r in result["scaling"]]),
        *_reuse_notes(result),
        "",
        "Vækst i forhold til mindste skala (1,0 = samme omkostning):",
        "",
        markdown_table(["skala", *next(iter(result["growth"].values()), {}).keys()],
                       [[f"{s}x", *(f"{g[k]:.2f}" if k in g else "–"
                                    for k in next(iter(result["growth"].values()), {}))]
                        for s, g in result["growth"].items()]),
    ]
    return "\n".join(parts) + "\n"


def _reuse_notes(result: dict[str, Any]) -> list[str]:
    """Markdown lines explaining rows measured with reused vectors (and their extrapolated embedding cost)."""
    reused = [r for r in result["scaling"] if r.get("vectors_reused")]
    if not reused:
        return []
    full = [r for r in result["scaling"] if not r.get("vectors_reused") and r.get("ingest_chunks_per_s")]
    rate = full[-1]["ingest_chunks_per_s"] if full else None
    lines = ["", f"\\* {REUSE_NOTE[0].upper() + REUSE_NOTE[1:]}: kun kildeteksterne (kopi 0) embeddes; hver kopi "
             "får kildens vektor plus en lille deterministisk støj (σ = 0,01 pr. dimension, normaliseret; "
             "cosinus ≈ 0,98 til kilden), så HNSW får "
             "forskellige, næsten ens punkter. Ingest-tiden måler altså indlæsning, opdeling, Chroma-upsert "
             "(HNSW-vækst) og BM25-opbygning; re-ingest, indeksstørrelse og svartider er målt i fuld skala. "
             "Embedding vokser lineært med antallet af tekststykker (målt ved 1x/10x)."]
    for r in reused:
        extra = f" ≈ {r['chunks'] / rate:.0f} s embedding ved {rate} stk./s" if rate else ""
        lines.append(f"- {r['scale']}x: {r.get('texts_embedded')} tekster embedded, {r.get('texts_reused')} "
                     f"genbrugt; ingest uden embedding {r['ingest_s']} s{extra}.")
    lines += [f"- {r['scale']}x: re-ingest uden ændringer fejlede: `{r['reingest_error']}`."
              for r in result["scaling"] if r.get("reingest_error")]
    load = result["meta"]["environment"].get("load_average")
    if load:
        lines.append(f"- Maskinens belastning ved afslutningen (load average 1/5/15 min): {' / '.join(map(str, load))} "
                     f"på {result['meta']['environment'].get('cpus')} kerner; over antallet af kerner deler målingerne "
                     "CPU med andre processer, og tiderne bliver tilsvarende længere.")
    return lines
