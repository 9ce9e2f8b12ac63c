"""Child process of the crash tests: write through a proxy from several threads, acknowledge each.

Usage: python -m tests.crash.writer DIR THREADS. Prints "writer n" once record(writer, n)
has returned, i.e. once it is durable. The parent kills it with SIGKILL at random moments.
"""

from __future__ import annotations

import sys
import threading

from revkv.prevalence import open_system
from tests.domains import Ledger


def main() -> None:
    directory, threads = sys.argv[1], int(sys.argv[2])
    ledger = open_system(Ledger, directory, snapshot_every=500, segment_size=16 * 1024)
    out = sys.stdout
    out_lock = threading.Lock()

    def write(name: str) -> None:
        n = ledger.next_for(name)
        while True:
            ledger.record(name, n)
            with out_lock:
                out.write(f"{name} {n}\n")
                out.flush()
            n += 1

    print("ready", flush=True)
    for i in range(threads):
        threading.Thread(target=write, args=(f"w{i}",), daemon=True).start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
