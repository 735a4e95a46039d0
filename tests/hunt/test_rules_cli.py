"""`aurora rules check|list|update`."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from aurora.cli.main import main

REPO = Path(__file__).resolve().parents[2]
SIGMA = REPO.parent / "shared" / "data" / "sigma"
GOOD = """title: Good
id: 11111111-2222-3333-4444-555555555555
logsource: {product: windows, category: process_creation}
detection:
    s:
        Image|endswith: '\\\\x.exe'
    condition: s
level: low
"""
BAD = GOOD.replace("11111111", "99999999").replace("condition: s", "condition: s and nope")


def write(tmp: Path, **files: str) -> Path:
    for name, text in files.items():
        (tmp / name).write_text(text)
    return tmp


def test_check_lists_every_failure_with_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, **{"good.yml": GOOD, "bad.yml": BAD, "junk.yml": "title: [unclosed"})
    assert main(["rules", "check", str(tmp_path)]) == 1
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert len(lines) == 2
    assert any("bad.yml" in x and "99999999" in x and "nope" in x for x in lines)
    assert any("junk.yml" in x for x in lines)
    assert "1 of 3 rules compiled, 2 failed" in out.err


def test_check_clean_dir_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, **{"good.yml": GOOD})
    assert main(["rules", "check", str(tmp_path)]) == 0
    assert capsys.readouterr().out == ""


def test_check_missing_dir(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", "/nonexistent/rules"]) == 2
    assert "no such file or directory" in capsys.readouterr().err


def test_list_json_includes_builtin_pack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, **{"good.yml": GOOD})
    assert main(["rules", "list", "--rules", str(tmp_path), "--json"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    ids = {r["id"] for r in rows}
    assert "11111111-2222-3333-4444-555555555555" in ids
    assert "b88ca49c-00b3-4fd7-baef-53bf9d612e65" in ids  # Aurora reverse shell rule
    assert all(r["routed"] for r in rows)


def make_zip(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return path


def test_update_from_local_zip_installs_atomically(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = make_zip(
        tmp_path / "sigma.zip",
        {"rules/windows/good.yml": GOOD, "rules/windows/bad.yml": BAD, "README.md": "x"},
    )
    dest = tmp_path / "installed"
    dest.mkdir()
    (dest / "old.yml").write_text(GOOD)
    assert main(["rules", "update", "--from", str(archive), "--dest", str(dest)]) == 0
    out = capsys.readouterr().out
    assert "installed 1 rules (version sha256:" in out and ") from 2 files" in out
    assert "1 could not be compiled" in out
    assert (dest / "rules" / "windows" / "good.yml").is_file()
    assert not (dest / "old.yml").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["installed", "sigma.zip"]


@pytest.mark.shared_data
def test_update_with_real_sigmahq_rules(tmp_path: Path) -> None:
    files = {
        f"rules/{p.relative_to(SIGMA / 'rules')}": p.read_text()
        for p in sorted((SIGMA / "rules" / "linux").rglob("*.yml"))
    }
    archive = make_zip(tmp_path / "sigma.zip", files)
    assert main(["rules", "update", "--from", str(archive), "--dest", str(tmp_path / "d")]) == 0
    assert len(list((tmp_path / "d").rglob("*.yml"))) == len(files)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"../evil.yml": GOOD}, "escapes the destination"),
        ({"README.md": "no rules"}, "no .yml rule files"),
        ({"rules/bad.yml": BAD}, "no rule in the archive compiles"),
    ],
)
def test_update_rejects_bad_archives(
    tmp_path: Path, files: dict[str, str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = make_zip(tmp_path / "a.zip", files)
    dest = tmp_path / "dest"
    assert main(["rules", "update", "--from", str(archive), "--dest", str(dest)]) == 1
    assert message in capsys.readouterr().err
    assert not dest.exists()


def test_update_not_a_zip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.zip").write_text("hello")
    assert (
        main(["rules", "update", "--from", str(tmp_path / "x.zip"), "--dest", str(tmp_path / "d")])
        == 1
    )
    assert "not a zip archive" in capsys.readouterr().err


def test_update_missing_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            ["rules", "update", "--from", str(tmp_path / "none.zip"), "--dest", str(tmp_path / "d")]
        )
        == 1
    )
    assert "no such file" in capsys.readouterr().err
