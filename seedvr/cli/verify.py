"""`seedvr-verify FILE_OR_URL...`: is this file a signed restoration, untouched since it was signed?

Reads each file's C2PA manifest (embedded, or the `.c2pa` sidecar beside it), validates the signature and
the hash binding to the file's bytes, and prints a short report: model, run, source, signer. Exit 0 when
every file verifies, 1 when any is unsigned, tampered or unreadable, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict

PROG = "seedvr-verify"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Verify the signed C2PA provenance of restored videos.")
    p.add_argument("files", nargs="+", metavar="FILE_OR_URL", help="local paths or URLs (s3://, abfss://, ...)")
    p.add_argument("--trust-anchors", metavar="PEM",
                   help="CA certificates (a path, URL or env:NAME) whose signers count as trusted")
    p.add_argument("--json", action="store_true", help="one JSON report per file instead of text")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from seedvr.errors import SeedVRError
    from seedvr.provenance.signing import read_reference
    from seedvr.provenance.verify import verify

    anchors = None
    if args.trust_anchors:
        try:
            anchors = read_reference(args.trust_anchors, "--trust-anchors")
        except SeedVRError as exc:
            print(f"{PROG}: error: {exc}", file=sys.stderr)
            return 2
    failed = 0
    for url in args.files:
        rep = verify(url, trust_anchors=anchors)
        failed += not rep.ok
        if args.json:
            print(json.dumps({**asdict(rep), "ok": rep.ok}, sort_keys=True))
        else:
            print("\n".join(rep.lines()))
    if not args.json and len(args.files) > 1:
        print(f"{len(args.files) - failed} of {len(args.files)} verified")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
