"""Drill: a soak at 70% of peak throughput with a CRUD mix: zero 5xx, memory growth under 10%.

    uv run python drills/soak.py [--seconds 600]

Measures peak first (8 clients, unthrottled, 15 s), then holds 70% of it for --seconds.
"""

from __future__ import annotations

import argparse

from drills.harness import Load, embedded_database, report, served, sign_up, snapshot

PEAK_SECONDS = 15


def main(seconds: float) -> None:
    with embedded_database() as database, served(database) as service:
        user_id, headers = sign_up(service.base)
        peak = Load(service.base, user_id, headers, clients=8, mix=True)
        peak.run(PEAK_SECONDS)
        peak_rate = sum(peak.statuses.values()) / PEAK_SECONDS
        before = snapshot(service, database)
        soak = Load(service.base, user_id, headers, clients=8, rate=0.7 * peak_rate, mix=True)
        soak.run(seconds)
        after = snapshot(service, database)
        report(
            f"soak: {seconds:.0f} s at 70% of a {peak_rate:.0f} requests/s peak ({0.7 * peak_rate:.0f}/s)",
            soak,
            database,
            before,
            after,
        )
        server_errors = sum(count for status, count in soak.statuses.items() if status.startswith("5"))
        growth = (after["memory"] - before["memory"]) / before["memory"] * 100
        print(f"  5xx: {server_errors}; memory growth: {growth:+.1f}% (target: 0 and under 10%)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600)
    main(parser.parse_args().seconds)
