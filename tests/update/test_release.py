"""Release packages on their own: what verifies, and the typed refusal of every bad one."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from aurora import __version__
from aurora.cli.main import main
from aurora.wire.release import (
    BadSignature,
    DowngradeRefused,
    ForeignKey,
    HashMismatch,
    ReleaseError,
    TruncatedPackage,
    Verified,
    WrongPlatform,
    current_platform,
    read_manifest,
    verify_and_extract,
)
from aurora.wire.release.keys import follow_rotation, load_private, make_rotation, parse_public

from .packages import flip_byte, later, new_key, signed_package, truncate, wheel_member


def check(package: Path, key: Path, dest: Path, running: str = __version__) -> Verified:
    pinned = (key.parent / (key.name + ".pub")).read_bytes()
    return verify_and_extract(
        package, dest, pinned_pem=pinned, running=running, platform=current_platform()
    )


@pytest.fixture
def package(tmp_path: Path, good_wheel: Path, release_key: Path) -> Path:
    return signed_package(good_wheel, release_key, tmp_path / "good.pkg")


def test_a_signed_package_verifies_and_unpacks_what_its_manifest_lists(
    package: Path, release_key: Path, tmp_path: Path, good_wheel: Path
) -> None:
    manifest = read_manifest(package)
    assert manifest.version == later(1) and manifest.platform == current_platform()
    assert any(name.startswith("payload/bpf/") for name in manifest.files)
    check(package, release_key, tmp_path / "out")
    assert (tmp_path / "out" / good_wheel.name).read_bytes() == good_wheel.read_bytes()
    assert sorted(p.name for p in (tmp_path / "out" / "bpf").iterdir()) == sorted(
        Path(n).name for n in manifest.files if "/bpf/" in n
    )


def test_a_changed_signature_is_a_bad_signature(
    package: Path, release_key: Path, tmp_path: Path
) -> None:
    bad = flip_byte(package, "manifest.sig", tmp_path / "bad.pkg", at=5)
    with pytest.raises(BadSignature):
        check(bad, release_key, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_package_signed_by_another_key_is_foreign(
    tmp_path: Path, good_wheel: Path, release_key: Path
) -> None:
    other = new_key(tmp_path / "other.key")
    pkg = signed_package(good_wheel, other, tmp_path / "foreign.pkg")
    with pytest.raises(ForeignKey, match="this host trusts"):
        check(pkg, release_key, tmp_path / "out")


def test_a_truncated_package_is_refused(package: Path, release_key: Path, tmp_path: Path) -> None:
    for n, fraction in enumerate((0.001, 0.3, 0.99)):
        with pytest.raises(TruncatedPackage):
            check(truncate(package, tmp_path / "cut.pkg", fraction), release_key, tmp_path / f"{n}")


def test_a_file_changed_after_signing_fails_its_hash(
    package: Path, release_key: Path, tmp_path: Path
) -> None:
    bad = flip_byte(package, wheel_member(package), tmp_path / "tampered.pkg", at=4096)
    with pytest.raises(HashMismatch, match="SHA-256"):
        check(bad, release_key, tmp_path / "out")


def test_a_file_added_after_signing_is_refused(
    package: Path, release_key: Path, tmp_path: Path
) -> None:
    extra = tmp_path / "extra.pkg"
    extra.write_bytes(package.read_bytes())
    payload = tmp_path / "evil.bpf.o"
    payload.write_bytes(b"not in the manifest")
    # Appending to a tar in place: "a" mode keeps the signed members and adds one.
    with tarfile.open(extra, "a") as tar:
        tar.add(payload, arcname="payload/bpf/evil.bpf.o")
    with pytest.raises(HashMismatch, match="not in its signed manifest"):
        check(extra, release_key, tmp_path / "out")


def test_downgrades_need_a_signed_rollback_manifest(
    tmp_path: Path, good_wheel: Path, release_key: Path
) -> None:
    plain = signed_package(good_wheel, release_key, tmp_path / "plain.pkg")
    with pytest.raises(DowngradeRefused, match="older"):
        check(plain, release_key, tmp_path / "a", running=later(5))
    with pytest.raises(DowngradeRefused, match="already running"):
        check(plain, release_key, tmp_path / "b", running=later(1))
    rollback = signed_package(good_wheel, release_key, tmp_path / "rb.pkg", rollback=True)
    assert check(rollback, release_key, tmp_path / "c", running=later(5))
    # The rollback flag is inside the signed manifest: turning it on afterwards breaks the seal.
    with tarfile.open(plain) as tar:
        body = tar.extractfile("manifest.json").read()  # type: ignore[union-attr]
    assert b'"rollback": false' in body


def test_a_package_for_another_platform_is_refused(
    tmp_path: Path, good_wheel: Path, release_key: Path
) -> None:
    from aurora.wire.release import build, sign

    pkg = tmp_path / "arm.pkg"
    build(pkg, good_wheel, [], platform="linux-aarch64-not-this-one")
    sign(pkg, release_key)
    with pytest.raises(WrongPlatform):
        check(pkg, release_key, tmp_path / "out")


def test_the_key_rotates_only_by_a_message_signed_with_the_old_key(
    tmp_path: Path, good_wheel: Path, release_key: Path
) -> None:
    new = new_key(tmp_path / "next.key")
    new_pub = parse_public((tmp_path / "next.key.pub").read_bytes())
    rotation = tmp_path / "rotation.json"
    rotation.write_bytes(make_rotation(load_private(release_key), new_pub))
    # Signed by the new key and carrying the rotation: accepted, and the new key is returned.
    pkg = signed_package(good_wheel, new, tmp_path / "rotated.pkg", rotation=rotation)
    verified = check(pkg, release_key, tmp_path / "out")
    assert verified.rotated_key_pem == (tmp_path / "next.key.pub").read_bytes()
    # Signed by the new key without the rotation: a foreign key to a host that pinned the old one.
    bare = signed_package(good_wheel, new, tmp_path / "bare.pkg")
    with pytest.raises(ForeignKey):
        check(bare, release_key, tmp_path / "out2")
    # A rotation written by someone else's key does not move trust.
    mallory = new_key(tmp_path / "mallory.key")
    forged = make_rotation(load_private(mallory), new_pub)
    with pytest.raises(ForeignKey):
        follow_rotation(parse_public(Path(f"{release_key}.pub").read_bytes()), forged)


def test_release_cli_round_trip_and_one_line_errors(
    tmp_path: Path, good_wheel: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key, pkg = tmp_path / "k", tmp_path / "p.pkg"
    assert main(["release", "keygen", str(key)]) == 0
    assert (key.stat().st_mode & 0o777) == 0o600
    assert main(["release", "keygen", str(key)]) == 1
    assert "refusing to overwrite" in capsys.readouterr().err
    assert main(["release", "build", "--wheel", str(good_wheel), "--out", str(pkg)]) == 0
    assert main(["release", "sign", str(pkg), "--key", str(tmp_path / "missing")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("aurora: cannot read the release key") and err.count("\n") == 1
    assert main(["release", "sign", str(pkg), "--key", str(key)]) == 0
    assert main(["release", "show", str(pkg)]) == 0
    assert later(1) in capsys.readouterr().out
    not_a_package = tmp_path / "junk.pkg"
    not_a_package.write_bytes(b"\x00" * 10)
    assert main(["release", "show", str(not_a_package)]) == 1
    with pytest.raises(ReleaseError):
        read_manifest(not_a_package)
