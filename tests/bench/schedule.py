#!/usr/bin/env python3
"""Scheduler benchmark: a synthetic repository of N views (../shared/tools/gen_views.py), timed
side by side in one run:

  floor      list and read every file (examples/read_files.rs), nothing else
  check      duro-schedule --check                 (read, parse, check; no state file)
  full       duro-schedule into a fresh state file  (everything, cold state)
  unchanged  duro-schedule --git, commit already processed

and the peak memory (RSS) of duro-schedule --check on a repository holding one generated 10 MB
`union all` view, as a multiple of the file's size (the target is at most 50x).

usage: python3 tests/bench/schedule.py [N_VIEWS] [RUNS]    (defaults: 10000 views, 7 runs)
Prints the median and minimum wall time of each, and ratios to the floor.
"""
import os, shutil, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GENERATOR = os.path.join(ROOT, "..", "shared", "tools", "gen_views.py")


def run(cmd, cwd=None):
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def timed(cmd, runs, before=None):
    samples = []
    for _ in range(runs):
        if before:
            before()
        start = time.perf_counter()
        completed = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        samples.append(time.perf_counter() - start)
        if completed.returncode != 0:
            sys.exit(f"{cmd} failed: {completed.stderr.decode()}")
    return statistics.median(samples), min(samples)


def peak_rss_bytes(cmd):
    """Runs cmd; returns its peak resident set size in bytes (Linux reports KiB)."""
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{cmd} failed: {child.stderr.read().decode()}")
    return usage.ru_maxrss * 1024


def big_union_view(root, size=10 * 1024 * 1024):
    """A repository with one `union all` view of about `size` bytes; returns the file's size."""
    os.makedirs(os.path.join(root, "s"))
    branch = "select 1 as a, 'x' as b, c.d as e from s.t0 c where c.d > 0\n"
    count = size // (len(branch) + len("union all\n"))
    path = os.path.join(root, "s", "big — 1h.sql")
    with open(path, "w") as out:
        out.write("union all\n".join([branch] * count))
    with open(os.path.join(root, "s", "t0 — 1h.sql"), "w") as out:
        out.write("select 1 as d\n")
    return os.path.getsize(path)


def build(root):
    """Builds the release binaries this benchmark runs in the checkout `root`; returns their folder."""
    run(["cargo", "build", "--release", "--quiet", "--bin", "duro-schedule", "--example", "read_files"], cwd=root)
    return os.path.join(root, "target", "release")


def measure(release, views_count, runs):
    """Times the binaries in `release`; returns {figure: (median s, min s)} in print order and the
    peak RSS of the big view's check with the view's size."""
    schedule, floor = os.path.join(release, "duro-schedule"), os.path.join(release, "examples", "read_files")
    work = tempfile.mkdtemp(prefix="duro-bench-")
    try:
        views = os.path.join(work, "views")
        run([sys.executable, GENERATOR, views, str(views_count)])
        # No automatic gc: packing in the background would remove files while the floor reads them.
        git = ["git", "-C", views, "-c", "user.name=bench", "-c", "user.email=bench@example.com", "-c", "gc.auto=0"]
        run(git + ["init", "-q"]); run(git + ["add", "."]); run(git + ["commit", "-q", "-m", "views"])
        fresh_state = os.path.join(work, "fresh.db")

        def remove_state():
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(fresh_state + suffix):
                    os.remove(fresh_state + suffix)

        kept_state = os.path.join(work, "kept.db")
        run([schedule, "--views", views, "--state", kept_state, "--git"])
        env_free = lambda args: [schedule, "--views", views] + args
        timed([floor, views], 2)  # warm the page cache
        times = {
            "floor: read every file": timed([floor, views], runs),
            "duro-schedule --check": timed(env_free(["--check"]), runs),
            "duro-schedule, fresh state file": timed(env_free(["--state", fresh_state]), runs, before=remove_state),
            "duro-schedule --git, unchanged commit": timed(env_free(["--state", kept_state, "--git"]), runs),
        }
        big = os.path.join(work, "big")
        size = big_union_view(big)
        peak = peak_rss_bytes([schedule, "--views", big, "--check"])
        return times, peak, size
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    views_count = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    times, peak, size = measure(build(ROOT), views_count, runs)
    floor_median = times["floor: read every file"][0]
    print(f"{views_count} views, {runs} runs each, {os.cpu_count()} CPUs")
    print(f"{'what':<40} {'median ms':>10} {'min ms':>10} {'x floor':>8}")
    for name, (median, minimum) in times.items():
        print(f"{name:<40} {median * 1000:>10.1f} {minimum * 1000:>10.1f} {median / floor_median:>8.2f}")
    full = times["duro-schedule, fresh state file"][0]
    unchanged = times["duro-schedule --git, unchanged commit"][0]
    print(f"targets: full < 1000 ms: {'met' if full < 1 else 'MISSED'}; "
          f"full within 5x floor: {'met' if full <= 5 * floor_median else 'MISSED'} ({full / floor_median:.1f}x); "
          f"unchanged < 50 ms: {'met' if unchanged < 0.05 else 'MISSED'}")
    print(f"one {size / 1e6:.1f} MB union all view: duro-schedule --check peak RSS {peak / 1e6:.0f} MB, "
          f"{peak / size:.1f}x the file (target <= 50x: {'met' if peak <= 50 * size else 'MISSED'})")


if __name__ == "__main__":
    main()
