#!/usr/bin/env python3
"""Runs `poolmon run -- python3 pool_throughput.py` over and over (every mode, chunk size 1 and the
default) until one run hangs or the time is up, and reports a hang the way the tests cannot: each
process's and each thread's state, wait channel and pending, blocked and caught signals (a SIGTERM
is bit 15, 0x4000), then every Python thread's stack, one process at a time.

A hang of 1 run in 100 is invisible in a test suite and obvious here in minutes. This is how the
CPython exit hang of session 5 was caught (a worker's Python-level SIGTERM handler deferred while it
blocked on the task queue's lock).

usage: scripts/loop-python-anchor.py [SECONDS] [POOLMON]
  SECONDS  how long to keep looping (default 600)
  POOLMON  the poolmon binary (default .build/debug/poolmon, as `swift build` makes it)
"""
import glob, os, signal, subprocess, sys, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 600
poolmon = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, ".build", "debug", "poolmon")
script = os.path.join(root, "Benchmarks", "python", "pool_throughput.py")
events = "/tmp/poolmon-loop-%d.jsonl" % os.getpid()
# With it, poolmon's instrumentation prints every thread's stack on SIGUSR1 (faulthandler).
env = dict(os.environ, POOLMON_PYTHON_STACKS="1")


def descendants(root_pid):
    children = {}
    for path in glob.glob("/proc/[0-9]*/stat"):
        try:
            stat = open(path).read()
            parent = int(stat[stat.rindex(")") + 2:].split()[1])
            children.setdefault(parent, []).append(int(path.split("/")[2]))
        except (OSError, ValueError):
            pass
    found, frontier = [], [root_pid]
    while frontier:
        for child in children.get(frontier.pop(), []):
            found.append(child)
            frontier.append(child)
    return found


def report(pids):
    for pid in pids:
        try:
            status = open("/proc/%d/status" % pid).read().split("\n")
            print(pid, open("/proc/%d/comm" % pid).read().strip(),
                  [line for line in status if line.startswith(("State", "ShdPnd"))],
                  open("/proc/%d/wchan" % pid).read())
            for thread in sorted(os.listdir("/proc/%d/task" % pid)):
                lines = open("/proc/%d/task/%s/status" % (pid, thread)).read().split("\n")
                print("   ", thread, [line for line in lines
                                      if line.startswith(("Name", "State", "SigPnd", "SigBlk", "SigCgt", "SigIgn"))])
        except OSError as error:
            print(pid, error)
    for pid in pids:
        try:
            if open("/proc/%d/comm" % pid).read().startswith("python"):
                os.kill(pid, signal.SIGUSR1)
                time.sleep(1)   # one at a time, so that the stacks do not interleave
        except OSError:
            pass


deadline = time.time() + seconds
runs = 0
while time.time() < deadline:
    for mode in ("map_async", "imap", "imap_unordered"):
        for chunksize in ("1", "0"):
            runs += 1
            run = subprocess.Popen([poolmon, "run", "--events", events, "--", sys.executable, script, "2000", "2", chunksize, mode],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
            try:
                run.wait(timeout=30)
                continue
            except subprocess.TimeoutExpired:
                pass
            print("HANG at run %d: %s, chunk size %s" % (runs, mode, chunksize), flush=True)
            pids = descendants(run.pid)
            report(pids)
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            run.kill()
            _, stderr = run.communicate()
            print(stderr.decode(errors="replace")[-8000:], flush=True)
            sys.exit(1)
print("no hang in %d runs" % runs)
