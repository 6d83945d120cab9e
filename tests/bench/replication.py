#!/usr/bin/env python3
"""Replication benchmark on a private local PostgreSQL (deploy/example/postgres.sh): a source
database and a warehouse database on one server, side by side in one run:

  full         ROWS rows (default 1,000,000) copied by a `timed` node's first run
               (`duro-create --table`, transport direct), the target emptied before each run;
  floor        the same rows through `psql -c "copy (select …) to stdout" | psql -c "copy … from stdin"`,
               then `ANALYZE`, as Duro runs it by default;
  incremental  the node's next run after 1,000 source rows were updated.

usage: python3 tests/bench/replication.py [ROWS] [RUNS]
Prints min, median and max of each side, the throughput ratio (floor time / Duro time; goal
>= 0.8), the incremental run (goal < 1 s) and the creator's peak resident memory (goal < 100 MB).
"""
import os, shutil, statistics, subprocess, sys, tempfile

from benchlib import last_phases, psql, run, spread, timed_child, timed_shell

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
POSTGRES = os.path.join(ROOT, "deploy", "example", "postgres.sh")
COLUMNS = "id, name, amount, note, updated_at"










def build(root):
    run(["cargo", "build", "--release", "--quiet", "--bin", "duro-schedule", "--bin", "duro-create"], cwd=root)
    return os.path.join(root, "target", "release")






def measure(release, rows, runs):
    schedule, create = os.path.join(release, "duro-schedule"), os.path.join(release, "duro-create")
    work = tempfile.mkdtemp(prefix="duro-bench-replication-")
    cluster = tempfile.mkdtemp(prefix="duro-bench-pg-")
    url = subprocess.run(["bash", POSTGRES, "start", cluster], check=True, capture_output=True, text=True).stdout.strip()
    base = url.rsplit("/", 1)[0]
    source, warehouse = f"{base}/source", f"{base}/warehouse"
    try:
        psql(url, "create database source")
        psql(url, "create database warehouse")
        psql(source, f"""
            create table public.events (id bigint primary key, name text, amount numeric(12, 2),
                                        note text, updated_at timestamp not null);
            insert into public.events
                select n, 'event ' || n, n * 1.5, case when n % 10 = 0 then null else repeat('x', 40) end,
                       timestamp '2026-01-01' + n * interval '1 second'
                from generate_series(1, {rows}) as n;
            create index events_by_update on public.events (updated_at);""")
        psql(source, "vacuum analyze public.events")
        target_ddl = "create table analytics.events (id bigint, name text, amount numeric(12, 2), note text, updated_at timestamp)"
        psql(warehouse, "create schema analytics; create schema floor;")
        views = os.path.join(work, "views")
        os.makedirs(os.path.join(views, "analytics"))
        with open(os.path.join(views, "analytics", "events — 1h.replication.yml"), "w") as f:
            f.write("source: app\nsource_table: public.events\nstrategy: timed\nlookback: 0s\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("DURO_")}
        env.update({"DURO_WAREHOUSE__URL": warehouse, "DURO_WAREHOUSE__TLS": "disable",
                    "DURO_WAREHOUSE__DIALECT": "postgres", "DURO_LOG": "warn",
                    "DURO_VIEWS__PATH": views, "DURO_STATE__PATH": os.path.join(work, "duro.db"),
                    "DURO_CONNECTIONS__APP__URL": source, "DURO_CONNECTIONS__APP__TLS": "disable"})
        run([schedule], env=env)
        # The floor runs what Duro runs by default: the copy, then ANALYZE.
        floor_copy = (f"psql {source} -q -c \"copy (select {COLUMNS} from public.events) to stdout with (format csv)\" "
                      f"| psql {warehouse} -q -c \"copy floor.events ({COLUMNS}) from stdin with (format csv)\" "
                      f"&& psql {warehouse} -q -c \"analyze floor.events\"")
        duro, floor, peaks = [], [], []
        for _ in range(runs):
            # Both sides start from an empty, new table.
            psql(warehouse, f"drop table if exists analytics.events; {target_ddl}")
            seconds, peak = timed_child([create, "--table", "analytics.events", "--reset"], env=env)
            duro.append(seconds)
            peaks.append(peak)
            full_phases = last_phases(os.path.join(work, "duro.db"))
            psql(warehouse, f"drop table if exists floor.events; {target_ddl.replace('analytics.', 'floor.')}")
            floor.append(timed_shell(floor_copy))
        copied = subprocess.run(["psql", warehouse, "-At", "-c", "select count(*) from analytics.events"],
                                check=True, capture_output=True, text=True).stdout.strip()
        if int(copied) != rows:
            sys.exit(f"the target holds {copied} rows, not {rows}")
        incremental = []
        for i in range(runs):
            psql(source, f"update public.events set name = name || ' updated', updated_at = updated_at + interval '1 year' "
                         f"where id in (select id from public.events order by id offset {i * 1000} limit 1000)")
            seconds, peak = timed_child([create, "--table", "analytics.events"], env=env)
            incremental.append(seconds)
            peaks.append(peak)
            incremental_phases = last_phases(os.path.join(work, "duro.db"))
        updated = subprocess.run(["psql", warehouse, "-At", "-c", "select count(*) from analytics.events where name like '% updated'"],
                                 check=True, capture_output=True, text=True).stdout.strip()
        if int(updated) != runs * 1000:
            sys.exit(f"the target holds {updated} updated rows, not {runs * 1000}")
        return {"duro": duro, "floor": floor, "incremental": incremental, "peak": max(peaks),
                "full_phases": full_phases, "incremental_phases": incremental_phases}
    finally:
        subprocess.run(["bash", POSTGRES, "stop", cluster], check=False)
        shutil.rmtree(work, ignore_errors=True)


def main():
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    t = measure(build(ROOT), rows, runs)
    duro, floor = statistics.median(t["duro"]), statistics.median(t["floor"])
    print(f"{rows} rows PostgreSQL -> PostgreSQL, {runs} runs each, {os.cpu_count()} CPUs")
    print(f"  duro-create --table (full copy)   {spread(t['duro'])}   ({rows / duro:,.0f} rows/s)")
    print(f"  psql copy | psql copy, analyze    {spread(t['floor'])}   ({rows / floor:,.0f} rows/s)")
    print(f"  throughput duro / floor           {floor / duro:7.2f}   (goal >= 0.8)")
    print(f"  incremental run, 1,000 updated    {spread(t['incremental'])}   (goal < 1 s)")
    print(f"  peak resident memory, duro-create {t['peak']:7.1f} MB   (goal < 100 MB)")
    print(f"  phases of the last full run        {t['full_phases']}")
    print(f"  phases of the last incremental run {t['incremental_phases']}")


if __name__ == "__main__":
    main()
