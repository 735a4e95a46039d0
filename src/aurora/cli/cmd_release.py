"""`aurora release`: signing keys, building and signing release packages, key rotation (offline)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from aurora.errors import UsageError


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "release",
        help="build and sign sensor release packages (offline)",
        description=(
            "Release packages carry the aurora-edr wheel, its BPF objects and a manifest (version, "
            "platform, SHA-256 of every file) signed with Ed25519. Sensors pin the public key at "
            "enrolment and install only packages it signed."
        ),
    )
    sub = parser.add_subparsers(dest="release_command", metavar="STEP", required=True)
    keygen = sub.add_parser("keygen", help="create a signing key (KEY, 0600) and KEY.pub")
    keygen.add_argument("key", type=Path, metavar="KEY")
    keygen.set_defaults(func=_keygen)

    build = sub.add_parser("build", help="build an unsigned package from a wheel and BPF objects")
    build.add_argument("--wheel", type=Path, required=True, help="aurora_edr-VERSION-*.whl")
    build.add_argument(
        "--bpf-dir", type=Path, help="directory of *.bpf.o to ship (default: none beyond the wheel)"
    )
    build.add_argument("--out", type=Path, required=True, metavar="PACKAGE")
    build.add_argument("--platform", default="", help="target platform (default: this host's)")
    build.add_argument(
        "--rollback",
        action="store_true",
        help="allow installing this version over a newer one (the permission is signed)",
    )
    build.set_defaults(func=_build)

    sign = sub.add_parser("sign", help="sign a package in place")
    sign.add_argument("package", type=Path, metavar="PACKAGE")
    sign.add_argument("--key", type=Path, required=True, help="private key from `keygen`")
    sign.add_argument(
        "--rotation", type=Path, help="key rotation message from `rotate` (sign with the new key)"
    )
    sign.set_defaults(func=_sign)

    rotate = sub.add_parser("rotate", help="hand trust from the old key to a new one")
    rotate.add_argument("--old-key", type=Path, required=True, help="current private key")
    rotate.add_argument("--new-public", type=Path, required=True, help="the next key's KEY.pub")
    rotate.add_argument("--out", type=Path, required=True)
    rotate.set_defaults(func=_rotate)

    show = sub.add_parser("show", help="print a package's manifest (unverified)")
    show.add_argument("package", type=Path, metavar="PACKAGE")
    show.set_defaults(func=_show)


def _keygen(args: argparse.Namespace) -> int:
    from aurora.wire.release import keys

    public = keys.generate(args.key)
    print(f"private key {args.key} (keep offline), public key {public}")
    return 0


def _build(args: argparse.Namespace) -> int:
    from aurora.wire.release import build

    if not args.wheel.is_file():
        raise UsageError(f"no wheel at {args.wheel}")
    objects: list[Path] = []
    if args.bpf_dir is not None:
        objects = sorted(args.bpf_dir.glob("*.bpf.o"))
        if not objects:
            raise UsageError(f"no *.bpf.o in {args.bpf_dir}")
    manifest = build(args.out, args.wheel, objects, platform=args.platform, rollback=args.rollback)
    print(f"{args.out}: aurora-edr {manifest.version} for {manifest.platform}, unsigned")
    return 0


def _sign(args: argparse.Namespace) -> int:
    from aurora.wire.release import sign

    manifest = sign(args.package, args.key, args.rotation)
    print(f"{args.package}: aurora-edr {manifest.version} signed by key {manifest.key_id}")
    return 0


def _rotate(args: argparse.Namespace) -> int:
    from aurora.atomicfile import write_atomic
    from aurora.wire.release import keys

    old = keys.load_private(args.old_key)
    try:
        new_pem = args.new_public.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {args.new_public}: {exc.strerror}") from None
    new = keys.parse_public(new_pem, f"public key in {args.new_public}")
    write_atomic(args.out, keys.make_rotation(old, new), mode=0o644)
    print(f"{args.out}: key {keys.key_id(old.public_key())} hands over to {keys.key_id(new)}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from aurora.wire.release import read_manifest

    m = read_manifest(args.package)
    print(f"aurora-edr {m.version} for {m.platform}, key {m.key_id or 'unsigned'}", end="")
    print(", rollback allowed" if m.rollback else "")
    for name, entry in sorted(m.files.items()):
        print(f"  {entry.sha256}  {entry.size:>10}  {name}")
    return 0
