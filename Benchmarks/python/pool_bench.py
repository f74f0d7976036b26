# CPython's side of `poolmon-bench`: one measurement per run, printed as a `result key=value ...`
# line that the Swift side parses. The logic is the anchor's (anchors/pool_throughput.py): tiny
# add((x, y)) tasks, the input list built before the clock starts, and the sum checked after.
#
# usage: pool_bench.py WORKLOAD ITEMS WORKERS
#   map_chunk1 | map_default | imap_chunk1 | imap_unordered_chunk1  -> value = tasks/s
#   startup                                                        -> value = seconds
#   memory                                                         -> before/after/peak/worker (MB)
#   latency        -> p99/p50/max (ms): item end in the worker to its result in the caller
#   struct_dataclass -> value = tasks/s: a dataclass of four scalars there and back (map_async)
import sys, time
from dataclasses import dataclass
from multiprocessing import Pool


def add(xy):
    return xy[0] + xy[1]


@dataclass
class Reading:
    id: int
    x: float
    y: float
    ok: bool


def shift(r):
    return Reading(r.id + 1, r.x, r.y, not r.ok)


def struct_dataclass(n, workers):
    work = [Reading(i, float(i), 0.5, True) for i in range(n)]
    with Pool(workers) as pool:
        pool.apply(add, ((1, 2),))
        t = time.perf_counter()
        r = pool.map_async(shift, work).get()
        dt = time.perf_counter() - t
    assert sum(x.id for x in r) == n * (n + 1) // 2, "wrong sum"
    print("result value=%.1f seconds=%.6f" % (n / dt, dt))


def stamped_sleep(pair):
    if pair[1] > 0:
        time.sleep(pair[1] / 1e6)
    return time.monotonic_ns()  # CLOCK_MONOTONIC, as on our side


def latency(n, workers):
    work = [(i, 5000 if i % 25 == 24 else 0) for i in range(n)]
    delays = []
    with Pool(workers) as pool:
        pool.apply(add, ((1, 2),))
        for ended in pool.imap_unordered(stamped_sleep, work, chunksize=1):
            delays.append((time.monotonic_ns() - ended) / 1e6)
    assert len(delays) == n, "lost results"
    delays.sort()
    pick = lambda f: delays[min(n - 1, int(round((n - 1) * f)))]
    print("result p99=%.4f p50=%.4f max=%.4f" % (pick(0.99), pick(0.50), delays[-1]))


def rss_mb(pid="self", field="VmRSS"):
    with open("/proc/%s/status" % pid) as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def throughput(workload, n, workers):
    work = [(i, i + 1) for i in range(n)]
    with Pool(workers) as pool:
        pool.apply(add, ((1, 2),))  # warm-up: the workers are up before the clock starts
        t = time.perf_counter()
        if workload == "map_chunk1":
            r = pool.map_async(add, work, chunksize=1).get()
        elif workload == "map_default":
            r = pool.map_async(add, work).get()
        elif workload == "imap_chunk1":
            r = list(pool.imap(add, work, chunksize=1))
        elif workload == "imap_unordered_chunk1":
            r = list(pool.imap_unordered(add, work, chunksize=1))
        else:
            raise SystemExit("unknown workload " + workload)
        dt = time.perf_counter() - t
    assert sum(r) == n * n, "wrong sum"
    print("result value=%.1f seconds=%.6f" % (n / dt, dt))


def startup(workers):
    t = time.perf_counter()
    pool = Pool(workers)
    assert pool.apply_async(add, ((1, 2),)).get() == 3
    pool.close()
    pool.join()
    print("result value=%.6f" % (time.perf_counter() - t))


def memory(n, workers):
    with Pool(workers) as pool:
        pool.apply(add, ((1, 2),))
        before = rss_mb()
        work = [(i, i + 1) for i in range(n)]
        total = sum(pool.map_async(add, work).get())
        assert total == n * n, "wrong sum"
        del work
        after = rss_mb()
        peak = rss_mb(field="VmHWM")
        worker = rss_mb(pool._pool[0].pid)
    print("result before=%.2f after=%.2f peak=%.2f worker=%.2f" % (before, after, peak, worker))


if __name__ == "__main__":
    workload, n, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if workload == "startup":
        startup(workers)
    elif workload == "memory":
        memory(n, workers)
    elif workload == "latency":
        latency(n, workers)
    elif workload == "struct_dataclass":
        struct_dataclass(n, workers)
    else:
        throughput(workload, n, workers)
