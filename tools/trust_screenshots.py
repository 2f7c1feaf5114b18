"""`python -m tools.trust_screenshots [OUTDIR]`: the pairing question, the warning about a
changed certificate and the servers found on the network (one of them a cluster of two
servers), as PNG files (docs/).

The dialogs are the real ones, fed with what a real connection would have found."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from shared.pairing import fingerprint

URL = "wss://reception-pc:8765"
PINNED = fingerprint(b"the certificate this desk trusts")
PRESENTED = fingerprint(b"the certificate the server presents now")
CLUSTER = "3f9a0c1b2d4e"  # the servers of one database announce one cluster id


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("outdir", nargs="?", default="docs", type=Path)
    args = p.parse_args(argv)
    out: Path = args.outdir
    out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtWidgets import QApplication

    from desktop.discovery import FoundServer
    from desktop.login import LoginDialog
    from desktop.pinning import Verdict
    from desktop.session import UntrustedServer
    from desktop.trust import TrustDialog
    from shared.pairing import fingerprint_code

    app = QApplication.instance() or QApplication(sys.argv[:1])

    def save(widget: object, name: str) -> None:
        widget.adjustSize()  # type: ignore[attr-defined]
        widget.show()  # type: ignore[attr-defined]
        for _ in range(5):
            app.processEvents()
        widget.grab().save(str(out / name))  # type: ignore[attr-defined]
        widget.hide()  # type: ignore[attr-defined]

    question = TrustDialog(UntrustedServer(URL, Verdict.UNKNOWN, PRESENTED, None))
    save(question, "screenshot-pairing.png")
    warning = TrustDialog(UntrustedServer(URL, Verdict.CHANGED, PRESENTED, PINNED))
    save(warning, "screenshot-cert-changed.png")
    login = LoginDialog("", "frontdesk")
    login.show_found()
    login.list_servers(
        [
            FoundServer(
                "Seaview Hotel on reception-pc:8765._roomrack._tcp.local.",
                "192.168.10.20",
                8765,
                ("Seaview Hotel",),
                fingerprint_code(PRESENTED),
                True,
                CLUSTER,
            ),
            FoundServer(  # the second server of the same database: one entry with the first
                "Seaview Hotel on standby-pc:8765._roomrack._tcp.local.",
                "192.168.10.21",
                8765,
                ("Seaview Hotel",),
                fingerprint_code(PRESENTED),
                True,
                CLUSTER,
            ),
            FoundServer(
                "Seaview Annex (test) on it-laptop:8765._roomrack._tcp.local.",
                "192.168.10.57",
                8765,
                ("Seaview Annex (test)",),
                fingerprint_code(PINNED),
                True,
            ),
        ]
    )
    cluster = next(i for i in range(login.found.count()) if "servers" in login.found.item(i).text())
    login.found.setCurrentRow(cluster)
    login._choose(login.found.item(cluster))
    save(login, "screenshot-server-list.png")
    print(f"screenshots saved in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
