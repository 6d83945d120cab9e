#!/usr/bin/env python3
"""Creator benchmarks on a private local PostgreSQL (deploy/example/postgres.sh), side by side:

  (a) N trivial views (default 500) rebuilt by `duro-create --once --jobs 1`, against `psql`
      running the statements Duro runs per view by default, in one session: drop the temporary
      table if a crash left it, create it (its row count from the command tag), ANALYZE it, then
      rename live -> _duro_old, temporary -> live and drop old in a transaction.
  (b) M independent tables of `select pg_sleep(0.5)` (default 64): `--jobs 4` against `--jobs 1`.

usage: python3 tests/bench/create.py [N_VIEWS] [N_SLEEPERS] [RUNS]
Prints wall times (min, median and max of RUNS for (a)) and the ratios.
"""
import os, shutil, sqlite3, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
POSTGRES = os.path.join(ROOT, "deploy", "example", "postgres.sh")


def run(cmd, **kwargs):
    return subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)


def timed(cmd, env=None):
    start = time.perf_counter()
    completed = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    elapsed = time.perf_counter() - start
    if completed.returncode != 0:
        sys.exit(f"{cmd} failed: {completed.stderr.decode()[-2000:]}")
    return elapsed


def write_views(views, schema, count, body):
    os.makedirs(os.path.join(views, schema), exist_ok=True)
    for i in range(count):
        with open(os.path.join(views, schema, f"t{i:04d} — 1d.sql"), "w") as f:
            f.write(body(i))


def force_all(state):
    with sqlite3.connect(state) as db:
        columns = {row[1] for row in db.execute("pragma table_info(force_requests)")}
        # Older state files kept these times in seconds, in columns without the _ms suffix.
        ms = "requested_at_ms" in columns
        requested, deleted = ("requested_at_ms", "deleted_at_ms") if ms else ("requested_at", "deleted_at")
        now = "(cast(strftime('%s','now') as integer) - 1)" + (" * 1000" if ms else "")
        db.execute(f"insert or replace into force_requests (table_name, {requested}, reason) "
                   f"select name, {now}, 'benchmark' from tables where {deleted} is null")


def summary(times):
    """(min, median, max) of wall times."""
    return min(times), statistics.median(times), max(times)


def build(root):
    """Builds the release binaries this benchmark runs in the checkout `root`; returns their folder."""
    run(["cargo", "build", "--release", "--quiet", "--bin", "duro-schedule", "--bin", "duro-create"], cwd=root)
    return os.path.join(root, "target", "release")


def measure(release, n_views, n_sleepers, runs):
    """Runs (a) and (b) with the binaries in `release`; returns the wall times in seconds:
    {"duro": each run of (a), "psql": each run of (a) by psql, side by side, "jobs1": (b), "jobs4": (b)}."""
    schedule = os.path.join(release, "duro-schedule")
    create = os.path.join(release, "duro-create")
    work = tempfile.mkdtemp(prefix="duro-bench-create-")
    cluster = tempfile.mkdtemp(prefix="duro-bench-pg-")  # directly under /tmp: the server's user must reach it
    url = subprocess.run(["bash", POSTGRES, "start", cluster], check=True, capture_output=True, text=True).stdout.strip()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DURO_")}
        env.update({"DURO_WAREHOUSE__URL": url, "DURO_WAREHOUSE__TLS": "disable", "DURO_WAREHOUSE__DIALECT": "postgres",
                    "DURO_LOG": "warn"})
        run(["psql", url, "-q", "-c", "create schema s; create schema p"])

        # (a) trivial views: Duro against psql running the same statements.
        views_a, state_a = os.path.join(work, "views_a"), os.path.join(work, "a.db")
        write_views(views_a, "s", n_views, lambda i: f"select {i} as x\n")
        env_a = dict(env, DURO_VIEWS__PATH=views_a, DURO_STATE__PATH=state_a)
        run([schedule], env=env_a)
        timed([create, "--once", "--jobs", "1"], env=env_a)  # first build creates the live tables
        statements = []
        for i in range(n_views):
            t, temp, old = f"t{i:04d}", f"t{i:04d}_duro_temp", f"t{i:04d}_duro_old"
            statements.append(
                f'drop table if exists s."{temp}"; create table s."{temp}" as (select {i} as x); '
                f'analyze s."{temp}"; begin; alter table s."{t}" rename to "{old}"; '
                f'alter table s."{temp}" rename to "{t}"; drop table s."{old}"; commit;')
        script = os.path.join(work, "same_statements.sql")
        with open(script, "w") as f:
            f.write("\n".join(statements) + "\n")
        duro_times, psql_times = [], []
        for _ in range(runs):
            force_all(state_a)
            duro_times.append(timed([create, "--once", "--jobs", "1"], env=env_a))
            psql_times.append(timed(["psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-f", script]))
        duro_a, psql_a = duro_times, psql_times

        # (b) independent sleepers: --jobs 4 against --jobs 1.
        views_b, state_b = os.path.join(work, "views_b"), os.path.join(work, "b.db")
        write_views(views_b, "p", n_sleepers, lambda i: f"select {i} as x from (select pg_sleep(0.5)) as s\n")
        env_b = dict(env, DURO_VIEWS__PATH=views_b, DURO_STATE__PATH=state_b)
        run([schedule], env=env_b)
        jobs1 = timed([create, "--once", "--jobs", "1"], env=env_b)
        force_all(state_b)
        jobs4 = timed([create, "--once", "--jobs", "4"], env=env_b)

        return {"duro": duro_a, "psql": psql_a, "jobs1": jobs1, "jobs4": jobs4}
    finally:
        subprocess.run(["bash", POSTGRES, "stop", cluster], check=False)
        shutil.rmtree(work, ignore_errors=True)


def main():
    n_views = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    n_sleepers = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    t = measure(build(ROOT), n_views, n_sleepers, runs)
    print(f"(a) {n_views} trivial views, {runs} runs, {os.cpu_count()} CPUs: min / median / max")
    for label, key in (("duro-create --once --jobs 1", "duro"), ("psql, same statements", "psql")):
        low, mid, high = summary(t[key])
        print(f"    {label:<29} {low * 1000:7.0f} / {mid * 1000:7.0f} / {high * 1000:7.0f} ms"
              f"   ({mid / n_views * 1000:.2f} ms per table)")
    low, mid, high = summary([d / p for d, p in zip(t["duro"], t["psql"])])
    print(f"    ratio duro / psql, per run    {low:7.2f} / {mid:7.2f} / {high:7.2f}"
          f"      (target: median <= 1.3)")
    print(f"    ratio of the medians          {statistics.median(t['duro']) / statistics.median(t['psql']):7.2f}")
    print(f"(b) {n_sleepers} independent tables of pg_sleep(0.5)")
    print(f"    --jobs 1                      {t['jobs1'] * 1000:9.0f} ms")
    print(f"    --jobs 4                      {t['jobs4'] * 1000:9.0f} ms")
    print(f"    speed-up                      {t['jobs1'] / t['jobs4']:9.2f}x  (target >= 3.5)")


if __name__ == "__main__":
    main()
