# The tutorial (anchors/asyncmap_py3.py) without its sleep, for measuring what watching costs:
# two simultaneous map_async jobs, sum and product, over N items each.
# usage: tutorial_nosleep.py N CHUNKSIZE(0 = Python's default) [--print]
# Prints one line: "elapsed S" (pool creation to both results in hand, seconds), then the two totals.
import sys, time
from multiprocessing import Pool, current_process

PRINT = "--print" in sys.argv

def sum_(xy):
    x, y = xy
    if PRINT:
        print("Worker %s is processing sum(%d,%d)" % (current_process().pid, x, y), flush=True)
    return x + y

def product(xy):
    x, y = xy
    if PRINT:
        print("Worker %s is processing product(%d,%d)" % (current_process().pid, x, y), flush=True)
    return x * y

if __name__ == "__main__":
    n = int(sys.argv[1]); cs = int(sys.argv[2])
    work = list(zip(range(1, n + 1), range(n + 1, 2 * n + 1)))
    kw = {"chunksize": cs} if cs else {}
    start = time.perf_counter()
    with Pool() as pool:
        s = pool.map_async(sum_, work, **kw)
        p = pool.map_async(product, work, **kw)
        sums, products = s.get(), p.get()
        elapsed = time.perf_counter() - start
    print("elapsed %.6f" % elapsed)
    print("Sum of sums of 'a' and 'b' is %d" % sum(sums))
    print("Sum of products of 'a' and 'b' is %d" % sum(products))
