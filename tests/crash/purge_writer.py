"""Child of the purge crash test: writes a marker, overwrites it, purges it; repeats,
while another thread writes filler. Each step is acknowledged once it returns.

Usage: python -m tests.crash.purge_writer DIR RUN. Prints "wrote I" and "purged I".
"""

from __future__ import annotations

import sys
import threading

import revkv


def marker(run: str, i: int) -> bytes:
    return f"MARK-{run}-{i}-leaked".encode()


def main() -> None:
    directory, run = sys.argv[1], sys.argv[2]
    store = revkv.open(directory, snapshot_every=200, segment_size=16 * 1024)

    def filler() -> None:
        n = 0
        while True:
            store.put("crash", f"filler{n % 50}", b"f" * 300)
            n += 1

    print("ready", flush=True)
    threading.Thread(target=filler, daemon=True).start()
    i = 0
    while True:
        key = f"{run}/k{i}"
        store.put("crash", key, marker(run, i))
        store.put("crash", key, f"clean-{i}".encode())
        print(f"wrote {i}", flush=True)
        store.purge("crash", key)
        print(f"purged {i}", flush=True)
        i += 1


if __name__ == "__main__":
    main()
