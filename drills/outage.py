"""Drill: PostgreSQL goes away for 10 s under write load, then comes back.

    uv run python drills/outage.py [--outage-seconds 10]

Prints the figures (requests, errors by status, acknowledged writes checked and lost, memory and
connections before and after) and how fast requests failed during the outage and recovered after.
"""

from __future__ import annotations

import argparse
import threading
import time

import httpx

from drills.harness import Load, embedded_database, report, served, sign_up, snapshot


def main(outage_seconds: float) -> None:
    with embedded_database() as database, served(database) as service:
        user_id, headers = sign_up(service.base)
        before = snapshot(service, database)
        load = Load(service.base, user_id, headers, clients=4)
        loader = threading.Thread(target=load.run, args=(outage_seconds + 15,))
        loader.start()
        time.sleep(5)
        database.stop()
        down_at = time.monotonic()
        started = time.monotonic()
        during = httpx.get(f"{service.base}/ready", timeout=30)
        answered_in = time.monotonic() - started
        time.sleep(max(0.0, outage_seconds - (time.monotonic() - down_at)))
        database.start()
        up_at = time.monotonic()
        recovered_after = None
        for _ in range(600):  # bounded: at most ~60 s
            if httpx.get(f"{service.base}/ready", timeout=30).status_code == 200:
                recovered_after = time.monotonic() - up_at
                break
            time.sleep(0.1)
        loader.join()
        after = snapshot(service, database)
        report(f"PostgreSQL outage of {outage_seconds:.0f} s under write load", load, database, before, after)
        print(
            f"  /ready during the outage: {during.status_code} {during.headers.get('content-type')} "
            f"in {answered_in * 1000:.0f} ms, Retry-After {during.headers.get('retry-after')}"
        )
        print(
            f"  first /ready = 200 after PostgreSQL was back: {recovered_after:.2f} s"
            if recovered_after is not None
            else "  /ready never recovered (60 s bound)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outage-seconds", type=float, default=10)
    main(parser.parse_args().outage_seconds)
