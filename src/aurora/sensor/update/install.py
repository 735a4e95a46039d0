"""Install a verified package beside the running version: ``versions/<version>/lib`` holds the
unpacked wheel, with the package's BPF objects in place of the wheel's own.

Everything is built in a staging directory and renamed into place at the end, so a failed or
interrupted install never leaves a half-written version where the launcher could switch to it.
"""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from aurora.sensor.update.layout import Releases
from aurora.wire.release import ReleaseError, Verified, current_platform, verify_and_extract

OBJECTS = Path("aurora/sensor/linux/objects")


@dataclass(frozen=True)
class Installed:
    version: str
    path: Path
    verified: Verified


def install(
    releases: Releases, package: Path, command_id: str, *, pinned_pem: bytes, running: str
) -> Installed:
    releases.ensure()
    staging = releases.versions / f".staging-{command_id}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o700)
    try:
        verified = verify_and_extract(
            package,
            staging / "payload",
            pinned_pem=pinned_pem,
            running=running,
            platform=current_platform(),
        )
        manifest = verified.manifest
        lib = staging / "lib"
        _unpack_wheel(staging / manifest.wheel, lib)
        objects = staging / "payload" / "bpf"
        if objects.is_dir():
            target = lib / OBJECTS
            target.mkdir(parents=True, exist_ok=True)
            for obj in objects.glob("*.bpf.o"):
                shutil.copyfile(obj, target / obj.name)
        final = releases.version_dir(manifest.version)
        if final.exists():
            # A version installed earlier and rolled back away from: replaced by this verified copy.
            shutil.rmtree(final)
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Installed(manifest.version, final, verified)


def _unpack_wheel(wheel: Path, lib: Path) -> None:
    try:
        with zipfile.ZipFile(wheel) as zf:
            for name in zf.namelist():
                parts = PurePosixPath(name).parts
                if name.startswith("/") or ".." in parts or not parts:
                    raise ReleaseError(f"the wheel holds an unsafe path {name!r}")
            zf.extractall(lib)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ReleaseError(f"the wheel cannot be unpacked: {exc}") from None
    if not (lib / "aurora" / "__init__.py").is_file():
        raise ReleaseError("the wheel does not contain the aurora package")
