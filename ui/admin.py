"""The maintainer page ("Vedligeholdelse"): index statistics, upload, re-ingest, feedback export.

Protected by ``settings.admin_secret``; without a secret the page is disabled. The login is throttled by
``LoginThrottle`` (policy in ``LoginPolicy``): after each failed attempt the next one is delayed longer (1, 2, 4,
8, 16 s), after ``max_failures`` failures in a row the login is locked for ``lockout_s`` seconds, and every
attempt writes one log line (outcome, client address, failure count; never the secret). The counter is shared
by all sessions of the process per data folder, because there is a single secret: a per-session or per-address
counter would let an attacker reset it by opening a new session. The price is that an attacker can keep the
maintainer out for the lockout period; the log lines show it happening.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import streamlit as st

from assistant.settings import Settings
from ui.conversation import plural
from ui.progress import streamlit_progress
from ui.services import app_settings, get_shared_index, get_storage
from ui.uploads import SUPPORTED_EXTS, UploadRejected, clean_stale_pending, save_upload, uploads_dir

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


@dataclass(frozen=True)
class LoginPolicy:
    """How hard the maintainer login pushes back on wrong secrets."""

    max_failures: int = 5  # failures in a row before the lockout
    lockout_s: float = 15 * 60
    base_delay_s: float = 1.0  # delay before the attempt after the first failure; doubles per failure
    max_delay_s: float = 16.0


@dataclass(frozen=True)
class LoginResult:
    ok: bool
    locked_s: float = 0.0  # > 0: refused (or just locked) for this many more seconds
    attempts_left: int = 0


class LoginThrottle:
    """Failed maintainer logins of one app; thread-safe, attempts are checked one at a time."""

    def __init__(self, policy: LoginPolicy | None = None, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.policy = policy or LoginPolicy()
        self._clock = clock
        self._sleep = sleep
        self._serial = threading.Lock()
        self.failures = 0
        self.last_failure = 0.0
        self.locked_until = 0.0

    def locked_for(self) -> float:
        """Seconds the login stays locked (0: not locked)."""
        return max(0.0, self.locked_until - self._clock())

    def delay(self) -> float:
        """Seconds the next attempt still has to wait."""
        if not self.failures:
            return 0.0
        wanted = min(self.policy.max_delay_s, self.policy.base_delay_s * 2 ** (self.failures - 1))
        return max(0.0, self.last_failure + wanted - self._clock())

    def attempt(self, given: str, check: Callable[[str], bool], *, client: str = "ukendt") -> LoginResult:
        """Check ``given`` with ``check`` after the delay the failures so far call for, unless locked."""
        with self._serial:
            locked = self.locked_for()
            if locked:
                log.warning("maintainer login refused: locked for %.0f s more (client %s)", locked, client)
                return LoginResult(ok=False, locked_s=locked)
            if self.locked_until:  # a lockout ran out: start counting again
                self.locked_until, self.failures = 0.0, 0
            wait = self.delay()
            if wait:
                self._sleep(wait)
            if check(given):
                log.info("maintainer login succeeded (client %s, after %d failures)", client, self.failures)
                self.failures, self.last_failure = 0, 0.0
                return LoginResult(ok=True)
            self.failures += 1
            self.last_failure = self._clock()
            left = self.policy.max_failures - self.failures
            if left <= 0:
                self.locked_until = self.last_failure + self.policy.lockout_s
                log.warning("maintainer login failed (client %s, %d failures in a row): locked for %.0f s",
                            client, self.failures, self.policy.lockout_s)
                return LoginResult(ok=False, locked_s=self.policy.lockout_s)
            log.warning("maintainer login failed (client %s, %d failures in a row)", client, self.failures)
            return LoginResult(ok=False, attempts_left=left)


_THROTTLES: dict[str, LoginThrottle] = {}
_THROTTLES_LOCK = threading.Lock()


def login_throttle(settings: Settings) -> LoginThrottle:
    """The process-wide throttle of the app whose data lives in ``settings.data_dir``."""
    with _THROTTLES_LOCK:
        return _THROTTLES.setdefault(str(settings.data_dir), LoginThrottle())


def _minutes(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minut" if minutes == 1 else f"{minutes} minutter"


def _client() -> str:
    try:
        return st.context.ip_address or "ukendt"
    except Exception:  # outside a browser session (AppTest, bare mode)
        return "ukendt"


def _login(settings: Settings) -> bool:
    if st.session_state.get("admin_ok"):
        return True
    throttle = login_throttle(settings)
    with st.form("admin_login"):
        secret = st.text_input("Adgangskode", type="password", key="admin_secret_input")
        submitted = st.form_submit_button("Log ind", icon=":material/login:")
    if submitted:
        result = throttle.attempt(secret, lambda given: check_secret(given, settings), client=_client())
        if result.ok:
            st.session_state.admin_ok = True
            st.rerun()
        if result.locked_s:
            st.error(
                "For mange forkerte forsøg: login er spærret. "
                f"Prøv igen om {_minutes(result.locked_s)}."
            )
        else:
            st.error("Forkert adgangskode.")
            st.caption(
                f"{result.attempts_left} forsøg tilbage, før login spærres i "
                f"{_minutes(throttle.policy.lockout_s)}. Hvert nyt forsøg venter lidt længere."
            )
    elif throttle.locked_for():
        st.warning(f"Login er spærret efter for mange forkerte forsøg. Prøv igen om {_minutes(throttle.locked_for())}.")
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
                with st.spinner(f"Kontrollerer «{file.name}» …"):
                    saved = save_upload(file.getvalue(), file.name, settings)
            except UploadRejected as exc:
                st.error(str(exc))
                continue
            verb = "erstattet" if saved.replaced else "gemt"
            st.success(f"«{file.name}» er {verb} som {saved.path.name} (dokument «{saved.title}»).")
            for warning in saved.warnings:
                st.warning(f"«{file.name}»: {warning}.")
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
    st.caption(f"{plural(len(records), 'vurdering', 'vurderinger')}: {up} op, {down} ned.")
    left, right = st.columns(2)
    left.download_button("Eksportér CSV (Excel)", data=storage.export_feedback_csv(),
                         file_name="feedback.csv", mime="text/csv", on_click="ignore",
                         icon=":material/download:", key="feedback_csv")
    right.download_button("Eksportér JSON", data=storage.export_feedback_json().encode("utf-8"),
                          file_name="feedback.json", mime="application/json", on_click="ignore",
                          icon=":material/download:", key="feedback_json")


_PENDING_CLEANED: set[str] = set()


def _clean_pending_once(settings: Settings) -> None:
    """Remove upload leftovers of a killed process, once per process and data folder."""
    with _THROTTLES_LOCK:
        if str(settings.data_dir) in _PENDING_CLEANED:
            return
        _PENDING_CLEANED.add(str(settings.data_dir))
    removed = clean_stale_pending(settings)
    if removed:
        log.info("removed %d stale upload staging entries", len(removed))


def render_page() -> None:
    settings = app_settings()
    st.title("Vedligeholdelse")
    if settings.admin_secret is None or not settings.admin_secret.get_secret_value():
        st.info(
            "Vedligeholdelsessiden er slået fra, fordi der ikke er sat en adgangskode. "
            "Sæt `admin_secret` i partnerskab.toml eller miljøvariablen `PA_ADMIN_SECRET`."
        )
        return
    _clean_pending_once(settings)
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
