#!/usr/bin/env python3
"""Before and after: the scheduler, creator and server benchmarks (schedule.py, create.py,
server.py in this folder) run with the binaries of an earlier commit and of the current one
(HEAD, or HEAD_REV), in alternation, on the same machine in one run.

usage: python3 tests/bench/compare.py BASE_REV [HEAD_REV] [ROUNDS] [VIEWS] [TABLES]
       (defaults: HEAD, 2 rounds, 10000 views for the scheduler, 10000 tables for the server)

Both commits are checked out in git worktrees under the system's temporary folder and built
there (release, each its own target folder), so uncommitted changes play no part. Each round
runs every benchmark once with each build, base first in odd rounds and HEAD first in even
ones, so slow drift of the machine is shared. Prints, for every figure, the median over the
rounds of both builds and the ratio head / base (below 1: HEAD is faster).
"""
import os, statistics, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import create, schedule, server  # noqa: E402  (the benchmarks of this folder)


def worktree(rev):
    """A checkout of `rev` beside the system's temporary files; reused when it is already there."""
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--verify", f"{rev}^{{commit}}"],
                            check=True, capture_output=True, text=True).stdout.strip()
    path = os.path.join(tempfile.gettempdir(), f"duro-bench-base-{commit[:12]}")
    if not os.path.isdir(path):
        subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", path, commit], check=True,
                       stdout=subprocess.DEVNULL)
    return path, commit


def figures(release, views, tables):
    """Every benchmark once with the binaries in `release`: {figure name: milliseconds}."""
    out = {}
    times, peak, _ = schedule.measure(release, views, 5)
    for name, (median, _) in times.items():
        out[f"schedule: {name}"] = median * 1000
    out["schedule: peak RSS of the 10 MB view, MB"] = peak / 1e6
    built = create.measure(release, 500, 64, 3)
    out["create: 500 trivial views, --jobs 1"] = statistics.median(built["duro"]) * 1000
    out["create: psql, same statements (reference)"] = statistics.median(built["psql"]) * 1000
    out["create: 64 x pg_sleep(0.5), --jobs 1"] = built["jobs1"] * 1000
    out["create: 64 x pg_sleep(0.5), --jobs 4"] = built["jobs4"] * 1000
    results, _ = server.measure(release, tables, 15, "10", log=lambda _: None)
    for path, cold, unchanged, written in results:
        out[f"server {path}: cold"] = cold[1]
        out[f"server {path}: unchanged"] = unchanged[3]
        out[f"server {path}: after a write"] = written[3]
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    head = sys.argv[2] if len(sys.argv) > 2 else "HEAD"
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    views = int(sys.argv[4]) if len(sys.argv) > 4 else 10000
    tables = int(sys.argv[5]) if len(sys.argv) > 5 else 10000
    roots = {"base": worktree(sys.argv[1]), "head": worktree(head)}
    builds = {}
    for which, (root, _) in roots.items():
        builds[which] = schedule.build(root)
        create.build(root)
        server.build(root)
    samples = {"base": [], "head": []}
    for round_number in range(rounds):
        order = ["base", "head"] if round_number % 2 == 0 else ["head", "base"]
        for which in order:
            print(f"round {round_number + 1}/{rounds}: {which}", file=sys.stderr)
            samples[which].append(figures(builds[which], views, tables))
    print(f"base {roots['base'][1][:9]} against head {roots['head'][1][:9]}, {rounds} rounds, "
          f"{os.cpu_count()} CPUs; medians over the rounds, ms unless named")
    print(f"{'figure':58} {'base':>10} {'head':>10} {'head/base':>10}")
    for name in samples["head"][0]:
        before = statistics.median(sample[name] for sample in samples["base"])
        after = statistics.median(sample[name] for sample in samples["head"])
        ratio = after / before if before else float("nan")
        print(f"{name:58} {before:10.1f} {after:10.1f} {ratio:10.2f}")


if __name__ == "__main__":
    main()
