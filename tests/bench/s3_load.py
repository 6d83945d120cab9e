#!/usr/bin/env python3
"""S3 load benchmark on a private local PostgreSQL (deploy/example/postgres.sh) and the
in-process S3 server (crates/duro-create/examples/s3_server.rs), side by side in one run:

  csv.gz   one file of ROWS rows (default 1,000,000) loaded by an S3 load node
           (`duro-create --table … --force`, the table dropped before each run);
  json.gz  the same rows as JSON lines, mapped as Redshift's JSON 'auto' maps them;
  floor    the CSV file through `zcat file | psql -c "copy … from stdin csv"`.

Both nodes have `after_load: {analyze: false}`, so every side runs the same work: the copy (and
`copy: {empty_as_null: true}`, so an empty CSV field is NULL on every side).

usage: python3 tests/bench/s3_load.py [ROWS] [RUNS]
Prints min, median and max of each side, the throughput ratios (floor time / Duro time; goals
CSV >= 0.8, JSON >= 0.5) and the creator's peak resident memory (goal < 100 MB).
"""
import gzip, json, os, random, shutil, statistics, subprocess, sys, tempfile

from benchlib import last_phases, psql, run, scalar, spread, timed_child, timed_shell

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
POSTGRES = os.path.join(ROOT, "deploy", "example", "postgres.sh")
COLUMNS = "page_id, hit_time, hits, ratio, referrer"
KEY, SECRET = "duro-bench-key", "duro-bench-secret"
NODE = """bucket: analytics
dataset: {dataset}
data_date_column: hit_time
after_load: {{analyze: false}}
copy: {{empty_as_null: true}}
columns:
  - {{name: page_id, type: text, not_null: true}}
  - {{name: hit_time, type: timestamp}}
  - {{name: hits, type: int}}
  - {{name: ratio, type: float}}
  - {{name: referrer, type: text}}
"""
DDL = ("create table floor.pages (page_id varchar(256) not null, hit_time timestamp, hits integer, "
       "ratio double precision, referrer varchar(256))")












def build(root):
    run(["cargo", "build", "--release", "--quiet", "--bin", "duro-schedule", "--bin", "duro-create"], cwd=root)
    run(["cargo", "build", "--release", "--quiet", "-p", "duro-create", "--example", "s3_server"], cwd=root)
    return os.path.join(root, "target", "release")


def write_files(bucket, rows):
    """The same rows as `csv.gz` and as JSON lines in `json.gz`; returns the CSV file's path."""
    rng = random.Random(7)
    name = "pages_{}_2015-07-03T00:00:00Z.{}"
    csv_path = os.path.join(bucket, name.format("csv", "csv.gz"))
    with gzip.open(csv_path, "wt", compresslevel=1) as csv_file, \
            gzip.open(os.path.join(bucket, name.format("json", "json.gz")), "wt", compresslevel=1) as json_file:
        for n in range(rows):
            hit_time = f"2015-07-03 {n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}"
            referrer = "" if n % 10 == 0 else f"https://example.com/{rng.randrange(10_000)}"
            page, hits, ratio = f"page-{n}", rng.randrange(1000), round(rng.random(), 6)
            csv_file.write(f"{page},{hit_time},{hits},{ratio},{referrer}\n")
            record = {"page_id": page, "hit_time": hit_time.replace(" ", "T") + "Z", "hits": hits, "ratio": ratio}
            if referrer:
                record["referrer"] = referrer
            json_file.write(json.dumps(record) + "\n")
    return csv_path






def measure(release, rows, runs):
    schedule, create = os.path.join(release, "duro-schedule"), os.path.join(release, "duro-create")
    work = tempfile.mkdtemp(prefix="duro-bench-s3-load-")
    cluster = tempfile.mkdtemp(prefix="duro-bench-pg-")
    url = subprocess.run(["bash", POSTGRES, "start", cluster], check=True, capture_output=True, text=True).stdout.strip()
    warehouse = url.rsplit("/", 1)[0] + "/warehouse"
    server = None
    try:
        psql(url, "create database warehouse")
        psql(warehouse, "create schema raw; create schema floor;")
        store = os.path.join(work, "store")
        os.makedirs(os.path.join(store, "analytics"))
        csv_path = write_files(os.path.join(store, "analytics"), rows)
        server = subprocess.Popen([os.path.join(release, "examples", "s3_server"), store, KEY, SECRET],
                                  stdout=subprocess.PIPE, text=True)
        endpoint = server.stdout.readline().strip()
        views = os.path.join(work, "views")
        os.makedirs(os.path.join(views, "raw"))
        for kind in ["csv", "json"]:
            with open(os.path.join(views, "raw", f"pages_{kind} — 1h.s3.yml"), "w") as f:
                f.write(NODE.format(dataset=f"pages_{kind}"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("DURO_")}
        env.update({"DURO_WAREHOUSE__URL": warehouse, "DURO_WAREHOUSE__TLS": "disable",
                    "DURO_WAREHOUSE__DIALECT": "postgres", "DURO_LOG": "warn",
                    "DURO_VIEWS__PATH": views, "DURO_STATE__PATH": os.path.join(work, "duro.db"),
                    "DURO_S3__ENDPOINT": endpoint, "DURO_S3__PATH_STYLE": "true",
                    "DURO_S3__ACCESS_KEY_ID": KEY, "DURO_S3__SECRET_ACCESS_KEY": SECRET,
                    "DURO_S3__LOAD_BUCKETS": "analytics"})
        run([schedule], env=env)
        floor_copy = f"zcat {csv_path} | psql {warehouse} -q -c \"copy floor.pages ({COLUMNS}) from stdin with (format csv)\""
        times = {"csv": [], "json": [], "floor": []}
        peaks, phases = [], {}
        for _ in range(runs):
            for kind in ["csv", "json"]:
                psql(warehouse, f"drop table if exists raw.pages_{kind}")
                seconds, peak = timed_child([create, "--table", f"raw.pages_{kind}", "--force"], env=env)
                times[kind].append(seconds)
                peaks.append(peak)
                phases[kind] = last_phases(os.path.join(work, "duro.db"))
            psql(warehouse, f"drop table if exists floor.pages; {DDL}")
            times["floor"].append(timed_shell(floor_copy))
        for table in ["raw.pages_csv", "raw.pages_json", "floor.pages"]:
            loaded = int(scalar(warehouse, f"select count(*) from {table}"))
            if loaded != rows:
                sys.exit(f"{table} holds {loaded} rows, not {rows}")
        same = scalar(warehouse, "select count(*) from (select * from raw.pages_csv except select * from raw.pages_json) d")
        if same != "0":
            sys.exit(f"the CSV and JSON loads differ in {same} rows")
        return times, max(peaks), phases, os.path.getsize(csv_path)
    finally:
        if server:
            server.kill()
        subprocess.run(["bash", POSTGRES, "stop", cluster], check=False)
        shutil.rmtree(work, ignore_errors=True)


def main():
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    times, peak, phases, size = measure(build(ROOT), rows, runs)
    floor = statistics.median(times["floor"])
    print(f"{rows} rows from the in-process S3 server into PostgreSQL, {runs} runs each, {os.cpu_count()} CPUs "
          f"(csv.gz {size / 1e6:.1f} MB)")
    for kind, label, goal in [("csv", "duro-create, csv.gz ", 0.8), ("json", "duro-create, json.gz", 0.5)]:
        median = statistics.median(times[kind])
        print(f"  {label}          {spread(times[kind])}   ({rows / median:,.0f} rows/s)   "
              f"throughput / floor {floor / median:5.2f} (goal >= {goal})")
    print(f"  zcat | psql copy (floor)       {spread(times['floor'])}   ({rows / floor:,.0f} rows/s)")
    print(f"  peak resident memory, duro-create {peak:6.1f} MB   (goal < 100 MB)")
    for kind in ["csv", "json"]:
        print(f"  phases of the last {kind} run   {phases[kind]}")


if __name__ == "__main__":
    main()
