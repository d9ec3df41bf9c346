"""Maintainer uploads: checked by the real ingest loader before saving; bad files never replace good ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.settings import Settings
from ingest.pipeline import discover_files, uploads_dir
from ui.uploads import PENDING_DIR, UploadRejected, save_upload

FIXTURES = Path(__file__).parent / "fixtures"
GOOD_FILES = {  # a valid file of each binary/text type, uploaded first under the same name
    ".pdf": FIXTURES / "formats" / "projektbeskrivelse.pdf",
    ".docx": FIXTURES / "formats" / "aftale-med-museet.docx",
    ".txt": FIXTURES / "formats" / "noter.txt",
}
GOOD_MD = "# Referat fra mødet\n\nBiblioteket og museet aftalte en fælles udstilling.\n".encode()


def _files(settings: Settings) -> list[str]:
    return sorted(p.name for p in uploads_dir(settings).iterdir() if p.is_file())


def test_saves_valid_files_under_safe_names(tmp_settings: Settings) -> None:
    saved = save_upload(GOOD_MD, "../Referat fra mødet.md", tmp_settings)
    assert saved.path == uploads_dir(tmp_settings) / "referat-fra-moedet.md" and not saved.replaced
    assert (saved.doc_id, saved.title) == ("referat-fra-moedet", "Referat fra mødet")
    for fixture in sorted((FIXTURES / "formats").iterdir()):
        save_upload(fixture.read_bytes(), fixture.name, tmp_settings)
    formats = [p.name for p in (FIXTURES / "formats").iterdir()]
    assert _files(tmp_settings) == sorted(["referat-fra-moedet.md", *formats])
    again = save_upload(GOOD_MD.replace(b"udstilling", b"koncert"), "Referat fra mødet.md", tmp_settings)
    assert again.replaced and b"koncert" in again.path.read_bytes()


@pytest.mark.parametrize(
    ("fixture", "reason"),
    [
        ("beskadiget.pdf", "PDF-filen er beskadiget"),
        ("latin1.txt", "UTF-8"),
        ("beskadiget.docx", "Word-filen"),
        ("tom.md", "filen er tom"),
    ],
)
def test_bad_file_is_rejected_and_keeps_the_earlier_upload(
    tmp_settings: Settings, fixture: str, reason: str
) -> None:
    data = (FIXTURES / "bad" / fixture).read_bytes()
    suffix = Path(fixture).suffix
    good = GOOD_FILES.get(suffix)
    earlier = save_upload(good.read_bytes() if good else GOOD_MD, f"dokument{suffix}", tmp_settings)
    before = earlier.path.read_bytes()
    with pytest.raises(UploadRejected, match=reason) as caught:
        save_upload(data, f"dokument{suffix}", tmp_settings)
    assert str(caught.value).startswith("«dokument") and "blev ikke gemt" in str(caught.value)
    assert earlier.path.read_bytes() == before
    assert _files(tmp_settings) == [earlier.path.name]
    assert not any((uploads_dir(tmp_settings) / PENDING_DIR).iterdir())


def test_too_large_and_wrong_type_are_rejected(tmp_settings: Settings) -> None:
    small = tmp_settings.model_copy(update={"max_file_mb": 0.001})
    with pytest.raises(UploadRejected, match=r"grænsen er 0\.001 MB"):
        save_upload(b"# Stor\n\n" + b"x" * 4096, "stor.md", small)
    with pytest.raises(UploadRejected, match="understøttes ikke"):
        save_upload((FIXTURES / "bad" / "regneark.xlsx").read_bytes(), "regneark.xlsx", tmp_settings)
    assert not uploads_dir(tmp_settings).exists() or not _files(tmp_settings)


def test_ingest_ignores_the_staging_folder(tmp_settings: Settings) -> None:
    save_upload(GOOD_MD, "referat.md", tmp_settings)
    (uploads_dir(tmp_settings) / PENDING_DIR / "halv.md").write_bytes(GOOD_MD)
    files, _ = discover_files([uploads_dir(tmp_settings)])
    assert [f.name for f, _root in files] == ["referat.md"]


def test_names_that_reduce_to_the_same_slug_get_distinct_files(tmp_settings: Settings) -> None:
    smile = save_upload("# Smil\n\nEt dokument om glæde.\n".encode(), "😀.md", tmp_settings)
    party = save_upload(b"# Fest\n\nEt dokument om fester.\n", "🎉.md", tmp_settings)
    assert (smile.path.name, party.path.name) == ("dokument.md", "dokument-2.md")
    assert not smile.replaced and not party.replaced
    assert "glæde" in smile.path.read_text(encoding="utf-8")
    assert "fester" in party.path.read_text(encoding="utf-8")
    # the same original name still replaces its own file, and only that one
    again = save_upload("# Fest\n\nEt dokument om nytårsfester.\n".encode(), "🎉.md", tmp_settings)
    assert again.path == party.path and again.replaced
    assert "glæde" in smile.path.read_text(encoding="utf-8")
    assert {smile.doc_id, again.doc_id} == {"dokument", "dokument-2"}
    # a file of unknown origin (copied in by hand) is never overwritten by a different name
    (uploads_dir(tmp_settings) / "referat.md").write_bytes(GOOD_MD)
    other = save_upload(GOOD_MD.replace(b"museet", b"skolen"), "Referat!.md", tmp_settings)
    assert other.path.name == "referat-2.md" and (uploads_dir(tmp_settings) / "referat.md").read_bytes() == GOOD_MD


def test_stale_pending_leftovers_are_cleaned(tmp_settings: Settings) -> None:
    import os
    import time

    from ui.uploads import clean_stale_pending

    staging = uploads_dir(tmp_settings) / PENDING_DIR
    (staging / "gammel").mkdir(parents=True)
    (staging / "gammel" / "halv.pdf").write_bytes(b"%PDF-1.4 halv")
    (staging / "forladt.md").write_bytes(GOOD_MD)
    (staging / "igang").mkdir()
    old = time.time() - 7200
    for entry in ("gammel", "forladt.md"):
        os.utime(staging / entry, (old, old))
    assert sorted(clean_stale_pending(tmp_settings)) == ["forladt.md", "gammel"]
    assert [p.name for p in staging.iterdir()] == ["igang"]  # a check in progress is left alone
    assert clean_stale_pending(tmp_settings, older_than_s=0) == ["igang"]
