"""The shared, cached assistant: one per configuration and index generation; re-ingest serialised."""

from __future__ import annotations

import sys
import threading
import time
import types
from pathlib import Path

import pytest

from assistant.settings import Settings
from ui.services import SharedIndex, get_shared_index


@pytest.fixture
def fake_pipeline(monkeypatch: pytest.MonkeyPatch) -> dict:
    """Replace ``ingest.pipeline`` by a slow fake that records how many ingests overlap."""
    state = {"running": 0, "max_running": 0, "calls": []}
    lock = threading.Lock()

    def run_ingest(paths, settings, *, dry_run=False, rebuild=False, progress=None):
        with lock:
            state["running"] += 1
            state["max_running"] = max(state["max_running"], state["running"])
        time.sleep(0.05)
        if progress:
            progress(1, 1, "færdig")
        with lock:
            state["running"] -= 1
            state["calls"].append((paths, dry_run, rebuild))
        return types.SimpleNamespace(added=1, changed=0, deleted=0, unchanged=0, skipped=0)

    module = types.ModuleType("ingest.pipeline")
    module.run_ingest = run_ingest
    module.ensure_default_index = lambda settings, progress=None: state["calls"].append("ensure")
    module.index_stats = lambda settings: {"documents": 1, "chunks": 2}
    monkeypatch.setitem(sys.modules, "ingest.pipeline", module)
    return state


def test_reingest_is_serialised(tmp_path: Path, fake_pipeline: dict) -> None:
    shared = SharedIndex(Settings(data_dir=tmp_path))
    threads = [threading.Thread(target=shared.reingest) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert fake_pipeline["max_running"] == 1 and len(fake_pipeline["calls"]) == 4
    assert shared.index_ready


class _FakeReader:
    def __init__(self) -> None:
        self.current = True

    def is_current(self) -> bool:
        return self.current


def test_cached_assistant_is_reloaded_when_the_index_generation_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``get_assistant`` keeps one instance while the reader is current and loads a new one after it is not."""
    from assistant import core
    from ui import services

    loads: list[object] = []

    def from_settings(settings: Settings) -> object:
        loads.append(types.SimpleNamespace(retriever=types.SimpleNamespace(index=_FakeReader())))
        return loads[-1]

    monkeypatch.setattr(core.Assistant, "from_settings", staticmethod(from_settings))
    settings = Settings(data_dir=tmp_path / "gen")
    first = services.get_assistant(settings)
    assert services.get_assistant(settings) is first and len(loads) == 1
    first.retriever.index.current = False  # a newer generation was committed
    second = services.get_assistant(settings)
    assert second is not first and len(loads) == 2
    assert services.get_assistant(settings) is second


def test_ensure_index_runs_once(tmp_path: Path, fake_pipeline: dict) -> None:
    shared = SharedIndex(Settings(data_dir=tmp_path))
    shared.ensure_index()
    shared.ensure_index()
    assert fake_pipeline["calls"].count("ensure") == 1 and shared.index_ready


def test_one_shared_index_per_configuration(tmp_path: Path) -> None:
    a = Settings(data_dir=tmp_path / "a")
    assert get_shared_index(a) is get_shared_index(Settings(data_dir=tmp_path / "a"))
    assert get_shared_index(a) is not get_shared_index(Settings(data_dir=tmp_path / "b"))
