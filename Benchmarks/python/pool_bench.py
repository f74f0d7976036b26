# CPython's side of `poolmon-bench`: one measurement per run, printed as a `result key=value ...`
# line that the Swift side parses. The logic is the anchor's (anchors/pool_throughput.py): tiny
# add((x, y)) tasks, the input list built before the clock starts, and the sum checked after.
#
# usage: pool_bench.py WORKLOAD ITEMS WORKERS
#   map_chunk1 | map_default | imap_chunk1 | imap_unordered_chunk1  -> value = tasks/s
#   startup                                                        -> value = seconds
#   memory                                                         -> before/after/peak/worker (MB)
import sys, time
from multiprocessing import Pool


def add(xy):
    return xy[0] + xy[1]


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
    else:
        throughput(workload, n, workers)
