#!/usr/bin/env python3
"""Web server benchmark: a state file with N tables (../shared/tools/gen_views.py scheduled by
duro-schedule) and a build history (crates/duro-server/examples/fill_history.rs, through the
creator's state calls), served by the release duro-server. Each endpoint is requested in turn
over one keep-alive connection on loopback; the time is from sending the request to the last
byte of the answer, so it includes rendering and the transfer.

usage: python3 tests/bench/server.py [N_TABLES] [REQUESTS] [BUILDS_PER_TABLE] [KEEP]
       (defaults: 10000 tables, 15 requests per endpoint, 10 builds per table, keep 2d)
Each endpoint is measured three ways: cold (the first request to a server just started: no
cache of its own, a new SQLite connection), with the state file unchanged between requests (the
server reuses its table overview), and with a force request committed just before each request
(as happens all the time while duro-create works), which makes the server read everything
again. Prints the median and 90th percentile, the answer's size, and the ratio of the
after-a-write median to /healthz (a trivial request). Then scheduler runs delete the records
older than KEEP (state.keep_builds_for), a retention pass each, until one deletes nothing: the
file's size before and after, and the time of the passes.
"""
import http.client, os, shutil, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GENERATOR = os.path.join(ROOT, "..", "shared", "tools", "gen_views.py")


def run(cmd, **kwargs):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kwargs)


def build(root):
    """Builds the release binaries this benchmark runs in the checkout `root`; returns their folder."""
    run(["cargo", "build", "--release", "--quiet", "--locked", "--bin", "duro-schedule",
         "--bin", "duro-server", "--example", "fill_history"], cwd=root)
    return os.path.join(root, "target", "release")


def start_server(release, state):
    """Starts duro-server on `state`; returns (process, connection)."""
    env = dict(os.environ, DURO_LOG="warn")
    server = subprocess.Popen(
        [os.path.join(release, "duro-server"), "--state", state, "--bind", "127.0.0.1:0", "--workers", "1"],
        stdout=subprocess.PIPE, env=env, text=True)
    url = next(w for w in server.stdout.readline().split() if w.startswith("http://"))
    host, port = url[len("http://"):].rstrip("/").split(":")
    return server, http.client.HTTPConnection(host, int(port))


def stop_server(server):
    server.terminate()
    server.wait()


def get(connection, path):
    """One GET: (client ms, server ms, size)."""
    begin = time.perf_counter()
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    elapsed = (time.perf_counter() - begin) * 1000
    if response.status != 200:
        sys.exit(f"{path}: HTTP {response.status}: {body[:300]!r}")
    timing = response.getheader("Server-Timing", "app;dur=nan")
    return elapsed, float(timing.split("dur=")[1]), len(body)


def retention(release, views, state, keep, log):
    """Scheduler runs with state.keep_builds_for=`keep` until a pass deletes nothing; returns
    (size before, size after, passes, seconds)."""
    before = os.path.getsize(state)
    env = dict(os.environ, DURO_STATE__KEEP_BUILDS_FOR=keep, DURO_LOG="info")
    passes, started = 0, time.perf_counter()
    while True:
        done = subprocess.run([os.path.join(release, "duro-schedule"), "--views", views, "--state", state],
                              check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)
        passes += 1
        if "deleted" not in done.stderr:
            break
        log("  " + next(line for line in done.stderr.splitlines() if "deleted" in line).split("INFO")[-1].strip())
    seconds = time.perf_counter() - started
    # The WAL folds into the file once the last connection closes.
    return before, os.path.getsize(state), passes, seconds


def measure(release, tables, requests, builds, keep="2d", log=print):
    """Serves a generated state file with the binaries in `release`; returns, per endpoint,
    (path, cold, unchanged, after a write), cold (client ms, server ms, size), the others
    (client median, client p90, size, server median, server p90); and the retention figures."""
    work = tempfile.mkdtemp(prefix="duro-bench-server-")
    server = None
    try:
        views, state = os.path.join(work, "views"), os.path.join(work, "duro.db")
        run([sys.executable, GENERATOR, views, str(tables)])
        run([os.path.join(release, "duro-schedule"), "--views", views, "--state", state])
        started = time.perf_counter()
        run([os.path.join(release, "examples", "fill_history"), state, builds])
        log(f"state file: {tables} tables, {builds} builds each "
            f"(history written in {time.perf_counter() - started:.1f} s), "
            f"{os.path.getsize(state) / 1e6:.1f} MB")
        server, connection = start_server(release, state)
        some_table = sorted(os.listdir(views))[0]
        some_table = next(f for f in sorted(os.listdir(os.path.join(views, some_table))) if f.endswith(".sql"))
        schema = sorted(os.listdir(views))[0]
        name = f"{schema}.{some_table.split('-')[0].split('.sql')[0]}"
        endpoints = [
            "/healthz",
            "/api/stats",
            "/api/tables",
            "/api/tables?status=failed",
            "/tables/",
            "/tables/?status=failed",
            "/tables/?sort=last&order=desc",
            "/tables/?limit=all",
            f"/tables/{name}",
            f"/api/tables/{name}",
            "/",
            "/api/jobs",
            "/graph",
            "/metrics",
        ]
        def timed(path, write_before):
            samples, server_ms, size = [], [], 0
            for i in range(requests + 2):
                if write_before:
                    # A real write through the API, as a creator or a user would make: the
                    # server's cached overview is out of date for the next request.
                    # (Alternating `tree` changes the stored reason: a rewrite of identical
                    # values would not change the file.)
                    body = b'{"tree": true}' if i % 2 else b'{"tree": false}'
                    connection.request("POST", f"/api/tables/{name}/force", body=body,
                                       headers={"Content-Type": "application/json"})
                    connection.getresponse().read()
                elapsed, served, size = get(connection, path)
                server_ms.append(served)
                if i >= 2:  # two warm-up requests
                    samples.append(elapsed)
            samples.sort()
            server = sorted(server_ms[2:])
            return (statistics.median(samples), samples[int(len(samples) * 0.9) - 1], size,
                    statistics.median(server), server[int(len(server) * 0.9) - 1])

        warm = [(path, timed(path, False), timed(path, True)) for path in endpoints]
        stop_server(server)
        server = None
        cold = []
        for path in endpoints:
            fresh, fresh_connection = start_server(release, state)
            cold.append(get(fresh_connection, path))
            stop_server(fresh)
        results = [(path, first, unchanged, written)
                   for (path, unchanged, written), first in zip(warm, cold)]
        return results, retention(release, views, state, keep, log)
    finally:
        if server:
            stop_server(server)
        shutil.rmtree(work, ignore_errors=True)


def main():
    tables = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    requests = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    builds = sys.argv[3] if len(sys.argv) > 3 else "10"
    keep = sys.argv[4] if len(sys.argv) > 4 else "2d"
    results, (before, after, passes, seconds) = measure(build(ROOT), tables, requests, builds, keep)
    floor = results[0][3][3]
    print("server = the Server-Timing the server reports (request in to answer built); client = until the")
    print("last byte arrived here. Cold: the first request to a server just started. Medians (and p90) in ms.")
    print("'after a write': a force request was committed just before each request, so the server had to")
    print("read the state file again.")
    print(f"{'endpoint':32} {'cold: server':>12} {'unchanged: server':>18} {'after a write: server':>22} {'client':>8} {'size':>8} {'ratio':>6}")
    for path, cold, unchanged, written in results:
        print(f"{path:32} {cold[1]:12.1f} {unchanged[3]:8.1f} ({unchanged[4]:6.1f}) {written[3]:12.1f} ({written[4]:6.1f}) "
              f"{written[0]:8.1f} {written[2] / 1024:6.0f}KB {written[3] / floor:5.0f}x")
    print(f"retention to {keep}: {passes} scheduler runs in {seconds:.1f} s; state file {before / 1e6:.1f} MB before, "
          f"{after / 1e6:.1f} MB after")


if __name__ == "__main__":
    main()
