"""The key and certificate store: lineages, CA-local rows, file modes and reloads."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from agent.pki import (
    CACertificateNotFoundError,
    CALabelConflictError,
    CARole,
    InvalidLabelError,
    LineageNotFoundError,
    PKIStore,
    certificate_sha256,
    subject_hash,
)
from tests.pki.factory import make_certificate, make_name, rsa_key


def new_store(path: Path) -> PKIStore:
    store = PKIStore(path)
    store.load()
    return store


def file_mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_request_key_is_private(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    store.start_lineage("mycert1", "xpki-srv", "digest-1")

    lineage = store.begin_request("mycert1", rsa_key(), renewal=False)

    assert lineage.next_key_file is not None
    assert file_mode(tmp_path / "enrollments" / "mycert1" / lineage.next_key_file) == 0o600
    assert file_mode(tmp_path / "enrollments" / "mycert1") == 0o700


def test_pending_transaction_survives_reload(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    store.start_lineage("mycert1", "xpki-srv", "digest-1")
    store.begin_request("mycert1", rsa_key(), renewal=False)
    lineage = store.save_pending("mycert1", {"transaction_id": "abc", "request": "MIIB"})
    assert lineage.pending_file is not None
    pending_path = tmp_path / "enrollments" / "mycert1" / lineage.pending_file

    reloaded = new_store(tmp_path)

    assert reloaded.pending_transaction("mycert1") == {"transaction_id": "abc",
                                                       "request": "MIIB"}
    assert reloaded.lineage("mycert1") == lineage
    assert lineage.transaction_id == "abc"
    assert file_mode(pending_path) == 0o600


def test_issued_clears_transaction_id(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    store.start_lineage("mycert1", "xpki-srv", "digest-1")
    store.begin_request("mycert1", rsa_key(), renewal=False)
    store.save_pending("mycert1", {"transaction_id": "abc"})

    issued = store.save_issued("mycert1", make_certificate(make_name("mycert1")))

    assert issued.transaction_id is None
    assert new_store(tmp_path).lineage("mycert1") == issued


def test_issued_certificate_replaces_old_files(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    store.start_lineage("mycert1", "xpki-srv", "digest-1")
    first_key = rsa_key(1)
    store.begin_request("mycert1", first_key, renewal=False)
    store.save_pending("mycert1", {"transaction_id": "one"})
    first = make_certificate(make_name("mycert1"), key=first_key)
    issued = store.save_issued("mycert1", first)

    store.begin_request("mycert1", rsa_key(2), renewal=True)
    during_renewal = store.lineage("mycert1")
    assert during_renewal is not None
    assert during_renewal.certificate == first
    assert during_renewal.renewal

    second = make_certificate(make_name("mycert1"), key=rsa_key(2))
    renewed = store.save_issued("mycert1", second)

    names = sorted(path.name for path in (tmp_path / "enrollments" / "mycert1").iterdir())
    assert names == sorted(["lineage.json", str(renewed.key_file),
                            str(renewed.certificate_file)])
    assert renewed.key_file != issued.key_file
    assert new_store(tmp_path).lineage("mycert1") == renewed


def test_certificate_chain_is_kept(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    store.start_lineage("mycert1", "xpki-srv", "d")
    store.begin_request("mycert1", rsa_key(), renewal=False)
    ca = make_certificate(make_name("CA"), key=rsa_key(3), ca=True)
    leaf = make_certificate(make_name("mycert1"), issuer=ca.subject, issuer_key=rsa_key(3))

    store.save_issued("mycert1", leaf, (ca,))

    reloaded = new_store(tmp_path).lineage("mycert1")
    assert reloaded is not None
    assert reloaded.certificate == leaf
    assert reloaded.chain == (ca,)
    assert reloaded.key_size == 2048


def test_abandon_keeps_certificate(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    store.start_lineage("mycert1", "xpki-srv", "d")
    store.begin_request("mycert1", rsa_key(), renewal=False)
    certificate = make_certificate(make_name("mycert1"))
    store.save_issued("mycert1", certificate)
    store.begin_request("mycert1", rsa_key(1), renewal=True)

    lineage = store.abandon_request("mycert1")

    assert lineage.certificate == certificate
    assert lineage.next_key_file is None
    assert lineage.pending_file is None


def test_private_key_round_trip(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    store.start_lineage("mycert1", "xpki-srv", "d")
    key = rsa_key()
    lineage = store.begin_request("mycert1", key, renewal=False)
    assert lineage.next_key_file is not None

    loaded = store.private_key("mycert1", lineage.next_key_file)

    assert loaded.private_numbers() == key.private_numbers()


def test_delete_lineage_removes_files(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    store.start_lineage("mycert1", "xpki-srv", "d")
    store.begin_request("mycert1", rsa_key(), renewal=False)

    store.delete_lineage("mycert1")

    assert store.lineage("mycert1") is None
    assert not (tmp_path / "enrollments" / "mycert1").exists()
    assert new_store(tmp_path).lineages() == {}


def test_load_removes_crash_leftovers(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    store.start_lineage("mycert1", "xpki-srv", "d")
    lineage = store.begin_request("mycert1", rsa_key(), renewal=False)
    directory = tmp_path / "enrollments" / "mycert1"
    (directory / "key-99.pem").write_text("written before the pointer moved")
    (directory / ".lineage.json.123.tmp").write_text("{")
    orphan = tmp_path / "enrollments" / "orphan"
    orphan.mkdir()
    (orphan / "key-1.pem").write_text("no pointer")

    reloaded = new_store(tmp_path)

    assert reloaded.lineage("mycert1") == lineage
    assert sorted(path.name for path in directory.iterdir()) == ["key-1.pem", "lineage.json"]
    assert not orphan.exists()


def test_missing_lineage_raises(tmp_path: Path) -> None:
    store = new_store(tmp_path)

    with pytest.raises(LineageNotFoundError):
        store.begin_request("absent", rsa_key(), renewal=False)


@pytest.mark.parametrize("label", ["../escape", ".hidden", "a/b", "", "x" * 200])
def test_invalid_label_rejected(tmp_path: Path, label: str) -> None:
    store = new_store(tmp_path)

    with pytest.raises(InvalidLabelError):
        store.start_lineage(label, "srv", "d")


def test_ca_row_fields(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    root = make_certificate(make_name("Root CA"), ca=True)

    row = store.store_ca_certificate("xpki-srv", "xpki-srv", CARole.ROOT, root)

    assert row.sha256 == certificate_sha256(root)
    assert row.subject_hash == subject_hash(root)
    assert new_store(tmp_path).ca_certificates() == (row,)


def test_ca_row_same_content_is_kept(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    root = make_certificate(make_name("Root CA"), ca=True)
    first = store.store_ca_certificate("xpki-srv", "xpki-srv", CARole.ROOT, root)

    second = store.store_ca_certificate("xpki-srv", "xpki-srv", CARole.ROOT, root)

    assert second == first


def test_ca_row_conflict_not_overwritten(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    old = make_certificate(make_name("Root CA"), key=rsa_key(1), ca=True)
    new = make_certificate(make_name("Other CA"), key=rsa_key(2), ca=True)
    store.store_ca_certificate("xpki-srv", "xpki-srv", CARole.ROOT, old)

    with pytest.raises(CALabelConflictError) as info:
        store.store_ca_certificate("xpki-srv", "xpki-srv", CARole.ROOT, new)

    assert info.value.existing_sha256 == certificate_sha256(old)
    assert info.value.new_sha256 == certificate_sha256(new)
    stored = new_store(tmp_path).ca_certificate("xpki-srv")
    assert stored is not None
    assert stored.certificate == old


def test_remove_ca_certificate(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    root = make_certificate(make_name("Root CA"), ca=True)
    store.store_ca_certificate("xpki-srv+ra", "xpki-srv", CARole.RA, root)

    removed = store.remove_ca_certificate("xpki-srv+ra")

    assert removed.label == "xpki-srv+ra"
    assert store.ca_certificates() == ()
    assert new_store(tmp_path).ca_certificates() == ()
    with pytest.raises(CACertificateNotFoundError):
        store.remove_ca_certificate("xpki-srv+ra")


def test_rejection_survives_reload(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    store.start_lineage("mycert1", "xpki-srv", "d")
    store.begin_request("mycert1", rsa_key(), renewal=False)
    store.save_pending("mycert1", {"transaction_id": "t"})

    lineage = store.save_rejected("mycert1", {"fail-info": "badRequest"})

    assert lineage.next_key_file is None
    assert lineage.pending_file is None
    reloaded = new_store(tmp_path).lineage("mycert1")
    assert reloaded is not None
    assert reloaded.rejection == {"fail-info": "badRequest"}
    assert sorted(p.name for p in (tmp_path / "enrollments" / "mycert1").iterdir()) == [
        "lineage.json"]


def test_corrupt_files_skipped(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    store.start_lineage("good", "xpki-srv", "d")
    store.start_lineage("broken", "xpki-srv", "d")
    root = make_certificate(make_name("Root CA"), ca=True)
    store.store_ca_certificate("xpki-srv", "xpki-srv", CARole.ROOT, root)
    (tmp_path / "enrollments" / "broken" / "lineage.json").write_text("{not json")
    (tmp_path / "ca" / "other-srv.json").write_text('{"format": 1}')

    reloaded = new_store(tmp_path)

    assert sorted(reloaded.lineages()) == ["good"]
    assert [row.label for row in reloaded.ca_certificates()] == ["xpki-srv"]
    assert (tmp_path / "enrollments" / "broken" / "lineage.json").exists()
