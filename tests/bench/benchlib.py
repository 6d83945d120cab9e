"""What the warehouse-load benchmarks (replication.py, s3_load.py) share: running commands and
psql, timing a child process with its peak memory or a shell pipeline, the phases of the newest
build in a state file, and min / median / max."""
import json, os, sqlite3, statistics, subprocess, sys, time


def run(cmd, **kwargs):
    completed = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **kwargs)
    if completed.returncode != 0:
        sys.exit(f"{cmd} failed: {completed.stderr[-2000:]}")


def psql(url, sql):
    run(["psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])


def scalar(url, sql):
    return subprocess.run(["psql", url, "-At", "-c", sql], check=True, capture_output=True, text=True).stdout.strip()


def timed_child(cmd, env=None):
    """Runs `cmd`; returns (seconds, peak resident memory in MB) of that one process."""
    start = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    stderr = child.stderr.read().decode()
    child.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{cmd} failed: {stderr[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024


def timed_shell(script):
    start = time.perf_counter()
    subprocess.run(["bash", "-o", "pipefail", "-c", script], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def last_phases(state):
    """The phases of the newest build in the state file, as `name ms` pairs."""
    with sqlite3.connect(state) as db:
        (phases,) = db.execute("select phases_json from builds order by id desc limit 1").fetchone()
    return "  ".join(f"{name} {ms} ms" for name, ms in json.loads(phases).items())


def spread(values):
    return f"min {min(values):7.2f} s   median {statistics.median(values):7.2f} s   max {max(values):7.2f} s"
