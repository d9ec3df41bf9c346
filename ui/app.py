"""Streamlit entry point: ``streamlit run ui/app.py``.

Builds the default index on first start (visible progress, no LLM needed), loads the shared assistant once
per process, then routes to the chat page or the maintainer page ("Vedligeholdelse").
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run ui/app.py` only puts ui/ on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from ui.progress import streamlit_progress  # noqa: E402
from ui.services import app_settings, get_shared_index  # noqa: E402
from ui.sources import install_page_helpers  # noqa: E402

VIEWS = Path(__file__).resolve().parent / "views"
STARTUP_FAILED = "Assistenten kunne ikke startes"
WARMING = "Assistenten gør klar …"
READY = "Assistenten er klar"


def prepare_index() -> bool:
    """First run of the process: build the index if missing and load the assistant, with a status box."""
    shared = get_shared_index(app_settings())
    if shared.loaded:
        return True
    with st.status(WARMING, expanded=True) as status:
        try:
            st.write("Kontrollerer indekset (det bygges første gang; det tager et par minutter).")
            bar = st.progress(0.0)
            shared.ensure_index(progress=streamlit_progress(bar))
            bar.empty()
            st.write("Indlæser indeks og sprogmodel og svarer på et prøvespørgsmål …")
            shared.warm_up()
        except Exception as exc:
            status.update(label=STARTUP_FAILED, state="error", expanded=True)
            st.error(f"{STARTUP_FAILED}: {exc}")
            return False
        status.update(label=READY, state="complete", expanded=False)
    return True


# Streamlit has no setting for <html lang>; a zero-height component (same-origin iframe) sets it once per page.
LANG_SCRIPT = "<script>window.parent.document.documentElement.lang = 'da';</script>"


def main() -> None:
    st.set_page_config(page_title="Partnerskabsassistenten", page_icon=":material/handshake:", layout="wide")
    import streamlit.components.v1 as components

    components.html(LANG_SCRIPT, height=0)
    install_page_helpers()
    pages = [
        st.Page(VIEWS / "chat.py", title="Chat", icon=":material/chat:", url_path="chat", default=True),
        st.Page(VIEWS / "vedligeholdelse.py", title="Vedligeholdelse", icon=":material/build:",
                url_path="vedligeholdelse"),
    ]
    page = st.navigation(pages)
    if not prepare_index():
        st.stop()
    page.run()


main()
