#!/usr/bin/env python3
"""Web server benchmark: a state file with N tables (../shared/tools/gen_views.py scheduled by
duro-schedule) and a build history (crates/duro-server/examples/fill_history.rs, through the
creator's state calls), served by the release duro-server. Each endpoint is requested in turn
over one keep-alive connection on loopback; the time is from sending the request to the last
byte of the answer, so it includes rendering and the transfer.

usage: python3 tests/bench/server.py [N_TABLES] [REQUESTS] [BUILDS_PER_TABLE]
       (defaults: 10000 tables, 15 requests per endpoint, 10 builds per table)
Each endpoint is measured twice: with the state file unchanged between requests (the server
reuses its table overview), and with a force request committed just before each request (as
happens all the time while duro-create works), which makes the server read everything again.
Prints the median and 90th percentile of both, the answer's size, and the ratio of the
after-a-write median to /healthz (a trivial request).
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


def measure(release, tables, requests, builds, log=print):
    """Serves a generated state file with the binaries in `release`; returns, per endpoint,
    (path, unchanged, after a write), each (client median, client p90, size, server median, server p90)."""
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
        env = dict(os.environ, DURO_LOG="warn")
        server = subprocess.Popen(
            [os.path.join(release, "duro-server"), "--state", state, "--bind", "127.0.0.1:0", "--workers", "1"],
            stdout=subprocess.PIPE, env=env, text=True)
        url = next(w for w in server.stdout.readline().split() if w.startswith("http://"))
        host, port = url[len("http://"):].rstrip("/").split(":")
        connection = http.client.HTTPConnection(host, int(port))
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
                begin = time.perf_counter()
                connection.request("GET", path)
                response = connection.getresponse()
                body = response.read()
                elapsed = time.perf_counter() - begin
                timing = response.getheader("Server-Timing", "app;dur=nan")
                server_ms.append(float(timing.split("dur=")[1]))
                if response.status != 200:
                    sys.exit(f"{path}: HTTP {response.status}: {body[:300]!r}")
                if i >= 2:  # two warm-up requests
                    samples.append(elapsed * 1000)
                size = len(body)
            samples.sort()
            server = sorted(server_ms[2:])
            return (statistics.median(samples), samples[int(len(samples) * 0.9) - 1], size,
                    statistics.median(server), server[int(len(server) * 0.9) - 1])

        return [(path, timed(path, False), timed(path, True)) for path in endpoints]
    finally:
        if server:
            server.terminate()
            server.wait()
        shutil.rmtree(work, ignore_errors=True)


def main():
    tables = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    requests = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    builds = sys.argv[3] if len(sys.argv) > 3 else "10"
    results = measure(build(ROOT), tables, requests, builds)
    floor = results[0][2][3]
    print("server = the Server-Timing the server reports (request in to answer built); client = until the")
    print("last byte arrived here. Medians (and p90) in ms. 'after a write': a force request was committed")
    print("just before each request, so the server had to read the state file again.")
    print(f"{'endpoint':32} {'unchanged: server':>18} {'after a write: server':>22} {'client':>8} {'size':>8} {'ratio':>6}")
    for path, unchanged, written in results:
        print(f"{path:32} {unchanged[3]:8.1f} ({unchanged[4]:6.1f}) {written[3]:12.1f} ({written[4]:6.1f}) "
              f"{written[0]:8.1f} {written[2] / 1024:6.0f}KB {written[3] / floor:5.0f}x")


if __name__ == "__main__":
    main()
