"""Child of the store crash test: concurrent puts, each acknowledged once it returns.

Usage: python -m tests.crash.store_writer DIR THREADS. Prints "key version rev".
"""

from __future__ import annotations

import sys
import threading

import revkv


def main() -> None:
    directory, threads = sys.argv[1], int(sys.argv[2])
    store = revkv.open(directory, snapshot_every=300, segment_size=32 * 1024)
    out_lock = threading.Lock()

    def write(n: int) -> None:
        i = 0
        while True:
            key = f"t{n}/k{i % 3}"
            meta = store.put("crash", key, f"{key}:{i}".encode(), author=f"w{n}")
            with out_lock:
                sys.stdout.write(f"{key} {meta.version} {meta.rev}\n")
                sys.stdout.flush()
            i += 1

    print("ready", flush=True)
    for n in range(threads):
        threading.Thread(target=write, args=(n,), daemon=True).start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
