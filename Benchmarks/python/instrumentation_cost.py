# What watching a CPython pool costs: the same script, plain and under `poolmon run --events FILE --`,
# alternating in the same run; prints the medians and the ratio instrumented/plain (1.00 = free).
# usage: python3 Benchmarks/python/instrumentation_cost.py POOLMON [--items N] [--rounds R]
#   POOLMON: the poolmon binary (e.g. .build/release/poolmon). The events go to a temporary file.
import argparse, os, statistics, subprocess, sys, tempfile

here = os.path.dirname(os.path.abspath(__file__))
parser = argparse.ArgumentParser()
parser.add_argument("poolmon")
parser.add_argument("--items", type=int, default=100_000)
parser.add_argument("--rounds", type=int, default=5)
args = parser.parse_args()
script = os.path.join(here, "tutorial_nosleep.py")


def elapsed(command):
    out = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout
    lines = out.splitlines()
    assert lines[0].startswith("elapsed "), out
    return float(lines[0].split()[1]), lines[1:]


with tempfile.TemporaryDirectory() as scratch:
    log = os.path.join(scratch, "events.jsonl")
    for chunksize in (1, 0):
        plain, watched = [], []
        for round in range(args.rounds):
            base = [sys.executable, script, str(args.items), str(chunksize)]
            runs = [("plain", base), ("watched", [args.poolmon, "run", "--events", log, "--"] + base)]
            if round % 2:
                runs.reverse()
            for name, command in runs:
                seconds, totals = elapsed(command)
                (plain if name == "plain" else watched).append(seconds)
                if name == "watched":
                    events = sum(1 for _ in open(log))
        p, w = statistics.median(plain), statistics.median(watched)
        label = "chunksize 1" if chunksize == 1 else "default chunksize"
        print("%-18s items %d  plain %.3f s  watched %.3f s  ratio %.2f  (%d events in the log)"
              % (label, args.items, p, w, w / p, events))
        print("bench: cpython_watch_%s plain=%.4f watched=%.4f ratio=%.3f"
              % ("chunk1" if chunksize == 1 else "default", p, w, w / p))
