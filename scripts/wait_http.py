"""Waits until a URL answers 200: ``python scripts/wait_http.py URL SECONDS [CLIENT_KEY]``.

Exits 0 once it does, 1 when SECONDS pass first (0: one try), printing the last answer. Standard library
only, so a machine needs no curl.
"""

import sys
import time
import urllib.error
import urllib.request


def main(url: str, seconds: str, key: str = "") -> int:
    deadline = time.monotonic() + float(seconds)
    headers = {"Authorization": f"Token {key}"} if key else {}
    last = "no answer"
    while True:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5):  # noqa: S310
                return 0
        except urllib.error.HTTPError as exc:
            last = f"{exc.code} {exc.read().decode(errors='replace')[:500]}"
        except OSError as exc:
            last = str(exc)
        if time.monotonic() >= deadline:
            print(f"{url}: {last}", file=sys.stderr)
            return 1
        time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
