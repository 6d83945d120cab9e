#!/usr/bin/env python3
"""Change-aware skipping benchmark on a private local PostgreSQL (deploy/example/postgres.sh): a
simulated day of CYCLES creator cycles (default 96) 15 minutes apart, over a generated
repository of TABLES tables (default 1,000), run twice side by side: without and with
`skip_unchanged=true` in global.conf.

The repository: INPUTS input tables (views without sources, every 15 minutes), each changing at
its own rate (every cycle, every 2nd, 4th, …, or never: a change is a rebuild someone asked for,
as a load would be), each starting a subject area of hourly derived views that read one to three
earlier tables of their area (and, one in ten, a table of another area). Between cycles every time in the state file moves 15 minutes into the past
(builds, summaries, definitions), so each `duro-create --once` sees the next quarter hour.

usage: python3 tests/bench/skip.py [TABLES] [CYCLES] [INPUTS]
Prints, for each side, the builds run, the builds skipped (`unchanged`), the warehouse time the
builds took, and the wall time; then the ratios.
"""
import os, random, shutil, sqlite3, subprocess, sys, tempfile, time

from benchlib import psql, run

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
POSTGRES = os.path.join(ROOT, "deploy", "example", "postgres.sh")
QUARTER_MS = 15 * 60 * 1000
# How often each input changes, in cycles (0: never).
RATES = [1, 2, 4, 8, 16, 32, 96, 0]


def build(root):
    run(["cargo", "build", "--release", "--quiet", "--bin", "duro-schedule", "--bin", "duro-create"], cwd=root)
    return os.path.join(root, "target", "release")


def write_views(views, tables, inputs, skip):
    """Subject areas: each input starts one; a derived view reads one to three earlier tables of
    its own area, and now and then (one in ten) one of another area."""
    rng = random.Random(11)
    os.makedirs(os.path.join(views, "bench"))
    with open(os.path.join(views, "global.conf"), "w") as f:
        f.write(f"skip_unchanged = {'true' if skip else 'false'}\n")
    areas = []
    for k in range(inputs):
        with open(os.path.join(views, "bench", f"in_{k} — 15m.sql"), "w") as f:
            f.write(f"select {k} as id, {k} * 10 as v")
        areas.append([f"bench.in_{k}"])
    for n in range(tables - inputs):
        area = areas[n % inputs]
        reads = rng.sample(area, rng.randint(1, min(3, len(area))))
        if rng.random() < 0.1:
            reads.append(rng.choice(rng.choice(areas)))
        body = " union all ".join(f"select id, v from {name}" for name in sorted(set(reads)))
        with open(os.path.join(views, "bench", f"d_{n} — 1h.sql"), "w") as f:
            f.write(f"select id, v from ({body}) as u")
        area.append(f"bench.d_{n}")


def age(state, ms):
    with sqlite3.connect(state) as db:
        db.executescript(f"""
            update builds set started_at_ms = started_at_ms - {ms}, finished_at_ms = finished_at_ms - {ms};
            update table_history set last_success_started_ms = last_success_started_ms - {ms},
                last_success_finished_ms = last_success_finished_ms - {ms},
                last_change_finished_ms = last_change_finished_ms - {ms};
            update tables set changed_at_ms = changed_at_ms - {ms}, first_seen_at_ms = first_seen_at_ms - {ms};
            update force_requests set requested_at_ms = requested_at_ms - {ms};""")


def change_inputs(state, inputs, cycle):
    now = int(time.time() * 1000)
    with sqlite3.connect(state) as db:
        for k in range(inputs):
            rate = RATES[k % len(RATES)]
            if rate and cycle % rate == 0:
                db.execute("insert or replace into force_requests (table_name, requested_at_ms, reason) values (?, ?, ?)",
                           (f"bench.in_{k}", now, "its data changed"))


def day(release, url, tables, cycles, inputs, skip):
    schedule, create = os.path.join(release, "duro-schedule"), os.path.join(release, "duro-create")
    work = tempfile.mkdtemp(prefix="duro-bench-skip-")
    database = f"skip_{'on' if skip else 'off'}"
    warehouse = url.rsplit("/", 1)[0] + f"/{database}"
    try:
        psql(url, f"create database {database}")
        psql(warehouse, "create schema bench")
        views = os.path.join(work, "views")
        write_views(views, tables, inputs, skip)
        state = os.path.join(work, "duro.db")
        env = {k: v for k, v in os.environ.items() if not k.startswith("DURO_")}
        env.update({"DURO_WAREHOUSE__URL": warehouse, "DURO_WAREHOUSE__TLS": "disable",
                    "DURO_WAREHOUSE__DIALECT": "postgres", "DURO_LOG": "warn",
                    "DURO_VIEWS__PATH": views, "DURO_STATE__PATH": state, "DURO_CREATOR__JOBS": "2"})
        run([schedule], env=env)
        run([create, "--once"], env=env)  # the first build of everything, not counted
        with sqlite3.connect(state) as db:
            (first_id,) = db.execute("select coalesce(max(id), 0) from builds").fetchone()
        started = time.perf_counter()
        for cycle in range(cycles):
            age(state, QUARTER_MS)
            change_inputs(state, inputs, cycle)
            run([create, "--once"], env=env)
        wall = time.perf_counter() - started
        with sqlite3.connect(state) as db:
            counts = dict(db.execute(
                "select outcome, count(*) from builds where id > ? group by outcome", (first_id,)).fetchall())
            (spent_ms,) = db.execute(
                "select coalesce(sum(finished_at_ms - started_at_ms), 0) from builds where id > ?", (first_id,)).fetchone()
        return {"built": counts.get("succeeded", 0), "skipped": counts.get("unchanged", 0),
                "failed": counts.get("failed", 0), "spent_s": spent_ms / 1000, "wall_s": wall}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    tables = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000
    cycles = int(sys.argv[2]) if len(sys.argv) > 2 else 96
    inputs = int(sys.argv[3]) if len(sys.argv) > 3 else 40
    release = build(ROOT)
    cluster = tempfile.mkdtemp(prefix="duro-bench-pg-")
    url = subprocess.run(["bash", POSTGRES, "start", cluster], check=True, capture_output=True, text=True).stdout.strip()
    try:
        off = day(release, url, tables, cycles, inputs, skip=False)
        on = day(release, url, tables, cycles, inputs, skip=True)
    finally:
        subprocess.run(["bash", POSTGRES, "stop", cluster], check=False)
    print(f"{tables} tables ({inputs} inputs changing every {RATES} cycles), {cycles} cycles of 15 minutes, {os.cpu_count()} CPUs")
    for label, side in [("without skip_unchanged", off), ("with skip_unchanged   ", on)]:
        print(f"  {label}  builds run {side['built']:6d}   skipped {side['skipped']:6d}   failed {side['failed']:3d}   "
              f"warehouse time {side['spent_s']:8.1f} s   wall {side['wall_s']:7.1f} s")
    print(f"  builds run with / without        {on['built'] / max(off['built'], 1):6.2f}")
    print(f"  warehouse time with / without    {on['spent_s'] / max(off['spent_s'], 0.001):6.2f}")


if __name__ == "__main__":
    main()
