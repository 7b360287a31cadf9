"""Drill: kill -9 of the workers, then of the postmaster, under write load; no acknowledged write lost.

uv run python drills/kill9.py [--seconds 40]
"""

from __future__ import annotations

import argparse
import threading
import time

from drills.harness import Load, embedded_database, report, served, sign_up, snapshot


def main(seconds: float) -> None:
    with embedded_database() as database, served(database) as service:
        user_id, headers = sign_up(service.base)
        before = snapshot(service, database)
        load = Load(service.base, user_id, headers, clients=8)
        loader = threading.Thread(target=load.run, args=(seconds,))
        loader.start()
        time.sleep(seconds * 0.2)
        workers = service.workers()
        for worker in workers:
            worker.kill()
        print(f"kill -9 of {len(workers)} workers at {seconds * 0.2:.0f} s")
        time.sleep(seconds * 0.3)
        postmaster = database.postmaster()
        postmaster.kill()
        postmaster.wait(timeout=60)
        print(f"kill -9 of the postmaster at {seconds * 0.5:.0f} s; restarted (crash recovery)")
        for _ in range(100):  # bounded: its children need a moment to exit
            try:
                database.start()
                break
            except Exception:
                time.sleep(0.2)
        loader.join()
        service.wait_ready()
        after = snapshot(service, database)
        report("kill -9 of workers and of the postmaster under write load", load, database, before, after)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40)
    main(parser.parse_args().seconds)
