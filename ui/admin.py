"""The maintainer page ("Vedligeholdelse"): index statistics, upload, re-ingest, feedback export.

Protected by ``settings.admin_secret``; without a secret the page is disabled.
"""

from __future__ import annotations

import hmac
import logging
from typing import TYPE_CHECKING

import streamlit as st

from assistant.settings import Settings
from ui.progress import streamlit_progress
from ui.services import app_settings, get_shared_index, get_storage
from ui.uploads import SUPPORTED_EXTS, UploadRejected, save_upload, uploads_dir

if TYPE_CHECKING:
    from ingest.pipeline import IngestReport

log = logging.getLogger(__name__)

REPORT_FIELDS: tuple[tuple[str, str], ...] = (
    ("added", "Tilføjet"),
    ("changed", "Ændret"),
    ("deleted", "Slettet"),
    ("unchanged", "Uændret"),
    ("skipped", "Sprunget over"),
)


def check_secret(given: str, settings: Settings) -> bool:
    """Constant-time comparison with the configured secret; never true when none is configured."""
    if settings.admin_secret is None:
        return False
    expected = settings.admin_secret.get_secret_value()
    return bool(expected) and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _login(settings: Settings) -> bool:
    if st.session_state.get("admin_ok"):
        return True
    with st.form("admin_login"):
        secret = st.text_input("Adgangskode", type="password", key="admin_secret_input")
        submitted = st.form_submit_button("Log ind", icon=":material/login:")
    if submitted:
        if check_secret(secret, settings):
            st.session_state.admin_ok = True
            st.rerun()
        st.error("Forkert adgangskode.")
    return False


def render_stats() -> None:
    st.subheader("Indeks")
    try:
        stats = get_shared_index().stats()
    except Exception as exc:
        log.exception("index_stats failed")
        st.error(f"Kunne ikke læse indeksstatistikken: {exc}")
        return
    cols = st.columns(3)
    cols[0].metric("Dokumenter", stats.documents)
    cols[1].metric("Tekststykker", stats.chunks)
    cols[2].metric("Seneste indlæsning", stats.last_ingest or "–")
    st.caption(f"Embeddingmodel: {stats.embedding_model} · samling: {stats.collection}")
    if stats.per_kind:
        st.dataframe(
            [
                {"Type": kind, "Dokumenter": count, "Tekststykker": stats.per_kind_chunks.get(kind, 0)}
                for kind, count in stats.per_kind.items()
            ],
            hide_index=True,
            width="content",
        )
    if not stats.lexical_in_sync:
        st.warning("BM25-indekset er ikke i takt med Chroma. Kør en genindlæsning.")


def render_upload(settings: Settings) -> None:
    st.subheader("Upload dokumenter")
    st.caption(
        "Nye eller opdaterede dokumenter kontrolleres, gemmes i uploadmappen og kommer med i indekset ved "
        f"næste genindlæsning. Filtyper: {', '.join(SUPPORTED_EXTS)}; "
        f"højst {settings.max_file_mb:g} MB pr. fil. "
        "En fil med samme navn som en tidligere upload erstatter den."
    )
    files = st.file_uploader(
        "Vælg filer", type=[s.lstrip(".") for s in SUPPORTED_EXTS], accept_multiple_files=True, key="uploads"
    )
    if files and st.button("Gem filerne", key="save_uploads", icon=":material/upload:"):
        for file in files:
            try:
                saved = save_upload(file.getvalue(), file.name, settings)
            except UploadRejected as exc:
                st.error(str(exc))
                continue
            verb = "erstattet" if saved.replaced else "gemt"
            st.success(f"«{file.name}» er {verb} som {saved.path.name} (dokument «{saved.title}»).")
    folder = uploads_dir(settings)
    existing = sorted(p.name for p in folder.glob("*") if p.is_file() and not p.name.startswith("."))
    if existing:
        with st.expander(f"Filer i uploadmappen ({len(existing)})"):
            st.markdown("\n".join(f"- `{name}`" for name in existing))


def _report_rows(report: IngestReport) -> dict[str, int]:
    return {label: len(getattr(report, field)) for field, label in REPORT_FIELDS}


def _report_details(report: IngestReport) -> list[str]:
    lines = [
        f"**{label}:** " + ", ".join(f"`{doc_id}`" for doc_id in getattr(report, field))
        for field, label in REPORT_FIELDS[:3]
        if getattr(report, field)
    ]
    lines.extend(f"**Sprunget over:** `{path}` – {reason}" for path, reason in report.skipped)
    lines.append(
        f"Tekststykker: {report.chunks_added} nye, {report.chunks_updated} opdateret, "
        f"{report.chunks_deleted} slettet; i alt {report.chunks_total} i {report.documents_total} dokumenter."
    )
    return lines


def render_reingest() -> None:
    st.subheader("Genindlæs indekset")
    st.caption("Læser guiden og uploadmappen igen; kun ændrede dokumenter indekseres på ny.")
    dry_run = st.checkbox("Prøvekørsel (vis kun hvad der ville ændre sig)", key="dry_run")
    rebuild = st.checkbox("Byg indekset helt forfra", key="rebuild")
    if st.button("Genindlæs nu", key="reingest", type="primary", icon=":material/sync:"):
        bar = st.progress(0.0, text="Starter …")
        try:
            report = get_shared_index().reingest(
                dry_run=dry_run, rebuild=rebuild, progress=streamlit_progress(bar)
            )
        except Exception as exc:
            log.exception("re-ingest failed")
            bar.empty()
            st.error(f"Genindlæsningen fejlede: {exc}")
            return
        st.session_state.last_report = (_report_rows(report), dry_run, _report_details(report))
        st.rerun()  # redraw the page, so the statistics above show the new index
    last = st.session_state.get("last_report")
    if last:
        rows, was_dry, details = last
        st.success("Prøvekørsel færdig – intet er ændret." if was_dry else "Indekset er opdateret.")
        cols = st.columns(len(rows))
        for col, (label, value) in zip(cols, rows.items(), strict=True):
            col.metric(label, value)
        with st.expander("Detaljer", expanded=bool(rows["Sprunget over"])):
            st.markdown("\n".join(f"- {line}" for line in details))


def render_feedback_export() -> None:
    st.subheader("Feedback")
    storage = get_storage()
    records = storage.list_feedback()
    up = sum(1 for r in records if r.score == 1)
    down = sum(1 for r in records if r.score == 0)
    st.caption(f"{len(records)} vurderinger: {up} op, {down} ned.")
    left, right = st.columns(2)
    left.download_button("Eksportér CSV", data=storage.export_feedback_csv().encode("utf-8"),
                         file_name="feedback.csv", mime="text/csv", on_click="ignore",
                         icon=":material/download:", key="feedback_csv")
    right.download_button("Eksportér JSON", data=storage.export_feedback_json().encode("utf-8"),
                          file_name="feedback.json", mime="application/json", on_click="ignore",
                          icon=":material/download:", key="feedback_json")


def render_page() -> None:
    settings = app_settings()
    st.title("Vedligeholdelse")
    if settings.admin_secret is None or not settings.admin_secret.get_secret_value():
        st.info(
            "Vedligeholdelsessiden er slået fra, fordi der ikke er sat en adgangskode. "
            "Sæt `admin_secret` i partnerskab.toml eller miljøvariablen `PA_ADMIN_SECRET`."
        )
        return
    if not _login(settings):
        return
    st.button("Log ud", key="admin_logout", on_click=lambda: st.session_state.pop("admin_ok", None))
    render_stats()
    st.divider()
    render_upload(settings)
    st.divider()
    render_reingest()
    st.divider()
    render_feedback_export()
