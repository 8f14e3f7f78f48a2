"""Scale: the same batch of small trainings through the local pool with one worker, then a two-node Ray cluster.

N trainings (default 12: the default 8x8-digits MLP, 10 epochs) are submitted at once through
`core.jobs.submit`, as N learners pressing Train together, first to the single-machine default
(a local pool, `PLAYGROUND_MAX_TRAININGS=1`, SQLite), then to Ray's own two-node test cluster on this
machine (one CPU per node, `PLAYGROUND_RAY_ADDRESS`) with the run store on a throw-away PostgreSQL
server. For each: jobs per minute (N / time from the first submit to the last result), the queue
wait (claim - submit) p95 and the time from submit to the first epoch on the chart p95 (polled from
the store every 0.1 s, as a page would). `ratio` = Ray's jobs/minute over the pool's (goal >= 1.8 on
this 2-core machine: two trainings at a time instead of one).

    .venv/bin/python bench/scale.py            # last line: JSON with "ratio"

Writes the "## Scale: local pool vs Ray (bench/scale.py)" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("PLAYGROUND_OFFLINE", "1")

from bench._docs import DOCS, write_section  # noqa: E402

HEADING = "## Scale: local pool vs Ray (bench/scale.py)"


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def batch(n: int, epochs: int) -> dict:
    """Submit `n` trainings at once and follow them through the store until all have settled."""
    from core import db, jobs
    from core.spec import ExperimentSpec

    spec = ExperimentSpec.default_for("digits")
    spec.fit.epochs = epochs
    started = time.time()
    ids = [jobs.submit(spec, f"learner{i}", watched=False) for i in range(n)]
    first_point: dict[str, float] = {}
    while True:
        views = {i: jobs.view(i) for i in ids}
        now = time.time()
        for i, v in views.items():
            if i not in first_point and v.epochs_done >= 1:
                first_point[i] = now - v.created
        if all(v.settled for v in views.values()):
            break
        time.sleep(0.1)
    took = max(v.finished for v in views.values()) - started
    db.dispose()
    return {
        "jobs": n,
        "seconds": round(took, 1),
        "jobs_per_minute": round(60 * n / took, 2),
        "finished": sum(v.status == "finished" for v in views.values()),
        "queue_wait_p95": round(p95([v.started - v.created for v in views.values()]), 1),
        "first_epoch_p95": round(p95(list(first_point.values())), 1),
        "workers": len({v.worker for v in views.values()}),
    }


def local_pool(n: int, epochs: int) -> dict:
    from core import workers

    os.environ.update(PLAYGROUND_HOME=tempfile.mkdtemp(prefix="bench-scale-local-"), PLAYGROUND_MAX_TRAININGS="1")
    workers.ensure_pool(every=0.0)
    while not workers.worker_pids():
        time.sleep(0.2)
    batch(1, 1)  # warm: the worker has imported TensorFlow and traced once
    try:
        return batch(n, epochs)
    finally:
        workers.shutdown_pool()


def ray_cluster(n: int, epochs: int) -> dict:
    import ray
    from ray.cluster_utils import Cluster

    from tests.servers import Postgres

    postgres = Postgres()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    os.environ.update(
        PLAYGROUND_HOME=tempfile.mkdtemp(prefix="bench-scale-ray-"),
        PLAYGROUND_RAY_ADDRESS=cluster.address,
        PLAYGROUND_DATABASE_URL=postgres.new_database(),
        PLAYGROUND_RUN_FILES=tempfile.mkdtemp(),
        PLAYGROUND_CALIBRATE="0",
    )
    try:
        batch(2, 1)  # warm: each node's worker has imported TensorFlow
        return batch(n, epochs)
    finally:
        ray.shutdown()
        cluster.shutdown()
        postgres.stop()
        for key in ("PLAYGROUND_RAY_ADDRESS", "PLAYGROUND_DATABASE_URL", "PLAYGROUND_RUN_FILES"):
            os.environ.pop(key, None)


def report(local: dict, remote: dict, args) -> tuple[str, float]:
    ratio = remote["jobs_per_minute"] / local["jobs_per_minute"]
    rows = [("local pool, 1 worker, SQLite", local), ("Ray, 2 nodes x 1 CPU, PostgreSQL", remote)]
    lines = [
        HEADING,
        "",
        f"Measured {time.strftime('%Y-%m-%d')} with `.venv/bin/python bench/scale.py {' '.join(sys.argv[1:])}` on this 2-core "
        f"machine: {args.jobs} trainings submitted at once (8x8 digits, the default MLP, {args.epochs} epochs), after a warm-up.",
        "",
        f"**ratio (Ray jobs/minute / local jobs/minute) = {ratio:.2f}** (goal >= 1.8).",
        "",
        "| engine | jobs/min | all done s | finished | queue wait p95 s | submit -> first epoch p95 s | workers |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {name} | {r['jobs_per_minute']} | {r['seconds']} | {r['finished']}/{r['jobs']} | {r['queue_wait_p95']} | "
        f"{r['first_epoch_p95']} | {r['workers']} |"
        for name, r in rows
    ]
    return "\n".join(lines) + "\n", ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--no-write-docs", action="store_true")
    args = parser.parse_args(argv)
    local = local_pool(args.jobs, args.epochs)
    print("local:", local, flush=True)
    remote = ray_cluster(args.jobs, args.epochs)
    print("ray:", remote, flush=True)
    body, ratio = report(local, remote, args)
    print(body)
    if not args.no_write_docs:
        write_section(DOCS, HEADING, body)
    print(json.dumps({"ratio": round(ratio, 3), "local": local, "ray": remote}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
