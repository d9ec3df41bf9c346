"""The shared, cached assistant: one per configuration, re-ingest serialised and followed by a reload."""

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


def _shared(tmp_path: Path) -> tuple[SharedIndex, list[object]]:
    shared = SharedIndex(Settings(data_dir=tmp_path))
    loads: list[object] = []

    def load() -> object:
        loads.append(object())
        return loads[-1]

    shared._load = load  # type: ignore[method-assign]
    return shared, loads


def test_reingest_is_serialised_and_reloads_the_assistant(tmp_path: Path, fake_pipeline: dict) -> None:
    shared, loads = _shared(tmp_path)
    first = shared.assistant
    threads = [threading.Thread(target=shared.reingest) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert fake_pipeline["max_running"] == 1
    assert shared.generation == 4 and len(loads) == 5
    assert shared.assistant is loads[-1] and shared.assistant is not first


def test_dry_run_keeps_the_loaded_assistant(tmp_path: Path, fake_pipeline: dict) -> None:
    shared, _loads = _shared(tmp_path)
    before = shared.assistant
    report = shared.reingest(dry_run=True)
    assert report.added == 1 and shared.assistant is before and shared.generation == 0


def test_ensure_index_runs_once(tmp_path: Path, fake_pipeline: dict) -> None:
    shared, _ = _shared(tmp_path)
    shared.ensure_index()
    shared.ensure_index()
    assert fake_pipeline["calls"].count("ensure") == 1 and shared.index_ready


def test_one_shared_index_per_configuration(tmp_path: Path) -> None:
    a = Settings(data_dir=tmp_path / "a")
    assert get_shared_index(a) is get_shared_index(Settings(data_dir=tmp_path / "a"))
    assert get_shared_index(a) is not get_shared_index(Settings(data_dir=tmp_path / "b"))
