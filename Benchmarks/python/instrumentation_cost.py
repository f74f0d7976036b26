# What watching a CPython pool costs: the same script, plain and under `poolmon run --events FILE --`,
# alternating in the same run; prints the medians and the ratio instrumented/plain (1.00 = free).
# usage: python3 Benchmarks/python/instrumentation_cost.py POOLMON [--items N] [--rounds R]
#   POOLMON: the poolmon binary (e.g. .build/release/poolmon). The events go to a temporary file.
import argparse, os, statistics, subprocess, sys, tempfile, time

here = os.path.dirname(os.path.abspath(__file__))
parser = argparse.ArgumentParser()
parser.add_argument("poolmon")
parser.add_argument("--items", type=int, default=100_000)
parser.add_argument("--rounds", type=int, default=5)
args = parser.parse_args()
script = os.path.join(here, "tutorial_nosleep.py")
ITEMS = args.items


def elapsed(command):
    """Seconds from the pool's creation to both results (the script's own clock), and the whole
    command's wall time (for the watched run: poolmon's start, and the pool's last events written
    out before the program exits)."""
    began = time.perf_counter()
    out = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout
    wall = time.perf_counter() - began
    lines = out.splitlines()
    assert lines[0].startswith("elapsed "), out
    assert lines[1].endswith(" is %d" % sum(range(1, 2 * ITEMS + 1))), out
    return float(lines[0].split()[1]), wall


with tempfile.TemporaryDirectory() as scratch:
    log = os.path.join(scratch, "events.jsonl")
    for chunksize in (1, 0):
        plain, watched, plain_wall, watched_wall = [], [], [], []
        for round in range(args.rounds):
            base = [sys.executable, script, str(args.items), str(chunksize)]
            runs = [("plain", base), ("watched", [args.poolmon, "run", "--events", log, "--"] + base)]
            if round % 2:
                runs.reverse()
            for name, command in runs:
                seconds, wall = elapsed(command)
                (plain if name == "plain" else watched).append(seconds)
                (plain_wall if name == "plain" else watched_wall).append(wall)
                if name == "watched":
                    events = sum(1 for _ in open(log))
        p, w = statistics.median(plain), statistics.median(watched)
        pw, ww = statistics.median(plain_wall), statistics.median(watched_wall)
        label = "chunksize 1" if chunksize == 1 else "default chunksize"
        print("%-18s items %d  to results: plain %.3f s  watched %.3f s  ratio %.2f | whole run: plain %.3f s  watched %.3f s  ratio %.2f  (%d events)"
              % (label, args.items, p, w, w / p, pw, ww, ww / pw, events))
        print("bench: cpython_watch_%s plain=%.4f watched=%.4f ratio=%.3f"
              % ("chunk1" if chunksize == 1 else "default", p, w, w / p))
