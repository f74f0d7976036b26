"""poolmon's instrumentation of CPython's multiprocessing.Pool (standard library only, Python >= 3.8).

`poolmon watch -- python3 script.py` and `poolmon run --events FILE -- python3 script.py` put the
directory holding this file on PYTHONPATH, with a `sitecustomize` that calls `install()` when
POOLMON_SOCKET is set (and then runs the user's own `sitecustomize`, if any). Nothing the script
computes or prints changes; without POOLMON_SOCKET nothing at all happens.

How it works (see README, "Watching a Python pool"):

* The parent. Each `multiprocessing.Pool` (not ThreadPool) opens one connection to the monitor's
  socket, says hello (`"engine":"cpython"`), then writes events in poolmon's JSON Lines schema v2:
  poolCreated, poolResized, workerStarted/Exited (from `_repopulate_pool_static` and
  `_join_exited_workers`, the pool's own reaping), jobSubmitted and chunksQueued (from the
  `MapResult`/`IMapIterator`/`ApplyResult` constructors, with what `_map_async`, `imap`,
  `imap_unordered` and `apply_async` were called with), resultsDelivered and jobCompleted (from
  the results' `_set`). A thread per pool writes them (never blocking the pool: a bounded
  buffer, drops counted), reads the workers' datagrams and answers the monitor's commands.
* The workers. `multiprocessing.pool.worker` is replaced by `_worker`, which wraps the task and
  result queues (a task taken = chunkDispatched, by PID) and runs chunks through `_chunk`, which
  times each item. Events go into a deque; a thread in the worker turns them into lines every
  ~50 ms (long items get an itemStarted as soon as they are seen running; short successful items
  go as itemsFinished runs) and sends them in one datagram to the pool's parent. Under `spawn`
  and `forkserver` the child imports the same sitecustomize, and `_worker` (pickled by name)
  finds this module.
"""

import collections
import errno
import itertools
import json
import marshal
import os
import socket
import sys
import tempfile
import threading
import time

__all__ = ["install"]

SOCKET_ENV = "POOLMON_SOCKET"
ENGINE = "cpython"
# Items longer than this get their own itemStarted/itemFinished (PoolEvent.perItemThreshold).
PER_ITEM_NS = 20_000_000
# Items shorter than this run in batches, one record per batch.
FAST_ITEM_NS = 200_000
FLUSH_SECONDS = 0.05
# Events the parent keeps for a monitor that does not read, before it drops them (counted).
QUEUE_LIMIT = 1_000_000
WRITE_CHUNK = 256 << 10
DATAGRAM_LINES = 60_000
# A worker's datagram stays well under the socket's limit (about 200 KB by default).
DATAGRAM_BYTES = 96 << 10

_installed = False
_watches_by_list = {}     # id(pool._pool) -> _PoolWatch
_watches_by_job = {}      # job id -> _PoolWatch
_pool_numbers = iter(range(1, 1 << 30))
_submission = threading.local()


def _t(ns):
    return "%d.%09d" % divmod(max(0, ns), 1_000_000_000)


def _name(func):
    return getattr(func, "__name__", None) or type(func).__name__


# ---------------------------------------------------------------------------------------------
# The parent: one watch per pool.

class _PoolWatch:
    def __init__(self, pool, workers):
        self.t0 = time.monotonic_ns()
        self.number = next(_pool_numbers)
        self.pid = os.getpid()
        self.lock = threading.RLock()
        self.out = collections.deque()
        self.dropped = 0
        self.pending = b""
        self.alive = True
        self.closed = False
        self.finished = False
        self.desired = workers
        self.slots = {}          # pid -> slot
        self.processes = {}      # pid -> Process
        self.held = {}           # pid -> (job, chunk)
        self.queued_chunks = 0
        self.queued_items = 0
        self.jobs = {}           # job -> dict(chunksize, items, chunks:{i:(start,count)}, error, delivered)
        self.chunk_override = None
        self.pool = pool
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(os.environ[SOCKET_ENV])
        self.sinkdir = tempfile.mkdtemp(prefix="poolmon-cpython-")
        self.sink_path = os.path.join(self.sinkdir, "events")
        self.sink = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sink.bind(self.sink_path)
        self.sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sink.setblocking(False)
        hello = {"channel": "hello", "protocol": 1, "schema": 2, "pid": self.pid, "pool": self.number,
                 "program": _program(), "workers": workers, "jobs_running": 0, "engine": ENGINE}
        self.sock.sendall((json.dumps(hello, separators=(",", ":")) + "\n").encode())
        self.sock.setblocking(False)
        self.emit('"event":"poolCreated","pool":%d,"pid":%d,"workers":%d' % (self.number, self.pid, workers), 0)
        self.emit('"event":"poolResized","from":0,"to":%d' % workers, 0)
        self.stop = False
        self.thread = threading.Thread(target=self._run, name="poolmon channel", daemon=True)
        self.thread.start()

    # events

    def now(self):
        return time.monotonic_ns() - self.t0

    def emit(self, body, at=None):
        if not self.alive:
            return
        if len(self.out) > QUEUE_LIMIT:
            self.dropped += 1
            return
        self.out.append('{"v":2,"t":%s,%s}\n' % (_t(self.now() if at is None else at), body))

    def queue_text(self):
        return '"queued_chunks":%d,"queued_items":%d' % (self.queued_chunks, self.queued_items)

    def worker_started(self, process):
        pid = process.pid
        used = set(self.slots.values())
        slot = 0
        while slot in used:
            slot += 1
        self.slots[pid] = slot
        self.processes[pid] = process
        self.emit('"event":"workerStarted","slot":%d,"pid":%d' % (slot, pid))

    def worker_exited(self, process, reason=None):
        pid = process.pid
        if pid not in self.slots:
            return
        self.drain_workers()
        slot = self.slots.pop(pid)
        self.processes.pop(pid, None)
        code = process.exitcode
        if code is None:
            code = 0
        if reason is None:
            if code == 0:
                maxtasks = getattr(self.pool, "_maxtasksperchild", None)
                reason = "maxTasksReached" if maxtasks else "retired"
            else:
                reason = "crashed"
        end = '"signal":%d' % -code if code < 0 else '"exit":%d' % code
        self.emit('"event":"workerExited","slot":%d,"pid":%d,%s,"reason":"%s"' % (slot, pid, end, reason))
        held = self.held.pop(pid, None)
        if held is not None and reason == "crashed":
            message = ("CPython's Pool does not re-run a lost chunk: job %d will never complete "
                       "(python/cpython#66587)" % held[0])
            self.emit('"event":"workerFault","pid":%d,"message":%s' % (pid, json.dumps(message)))

    def job_submitted(self, job, function, items, chunksize, auto, mode, queue_all):
        with self.lock:
            info = {"chunksize": max(chunksize, 1), "items": items, "chunks": {}, "error": None,
                    "delivered": 0, "next_start": 0}
            self.jobs[job] = info
            _watches_by_job[job] = self
            self.emit('"event":"jobSubmitted","job":%d,"label":%s,"function":%s,"items":%d,"chunksize":%d,'
                      '"auto":%s,"mode":"%s"' % (job, json.dumps(function), json.dumps(function), items,
                                                 chunksize, "true" if auto else "false", mode))
            if queue_all and items > 0 and chunksize > 0:
                chunks = (items + chunksize - 1) // chunksize
                self.queued_chunks += chunks
                self.queued_items += items
                self.emit('"event":"chunksQueued","job":%d,"chunk":0,"chunks":%d,"start":0,"count":%d,%s'
                          % (job, chunks, items, self.queue_text()))

    def chunk_queued(self, job, chunk, start, count):
        with self.lock:
            info = self.jobs.get(job)
            if info is not None:
                info["chunks"][chunk] = (start, count)
            self.queued_chunks += 1
            self.queued_items += count
            self.emit('"event":"chunksQueued","job":%d,"chunk":%d,"chunks":1,"start":%d,"count":%d,%s'
                      % (job, chunk, start, count, self.queue_text()))

    def chunk_range(self, job, chunk):
        info = self.jobs.get(job)
        if info is None:
            return chunk, 1
        if chunk in info["chunks"]:
            return info["chunks"][chunk]
        size = info["chunksize"]
        start = chunk * size
        return start, max(0, min(size, info["items"] - start))

    def delivered(self, job, start, count):
        if count > 0:
            self.emit('"event":"resultsDelivered","job":%d,"start":%d,"count":%d' % (job, start, count))

    def completed(self, job, error=None):
        with self.lock:
            self.drain_workers()
            info = self.jobs.pop(job, None)
            _watches_by_job.pop(job, None)
            if error is None and info is not None:
                error = info["error"]
            if error is None:
                self.emit('"event":"jobCompleted","job":%d' % job)
            else:
                self.emit('"event":"jobCompleted","job":%d,"error":%s' % (job, json.dumps(error)))

    def finish(self, state, reason):
        """The pool is over: remaining workers' exits, its state, everything written, the connection closed."""
        with self.lock:
            if self.finished:
                return
            self.finished = True
            for pid, process in list(self.processes.items()):
                if process.exitcode is not None:
                    self.worker_exited(process, "poolClosed" if process.exitcode == 0 else "terminated")
            self.emit('"event":"poolState","state":"%s"' % state)
        self.stop = True
        self.thread.join(2)
        self.drain_workers()
        self._flush(patience=3)
        self._close()

    # the thread: writes lines, reads the workers' datagrams, answers commands

    def _run(self):
        import select
        incoming = b""
        while not self.stop and self.alive:
            try:
                readable, _, _ = select.select([self.sock, self.sink], [], [], 0.02)
            except (OSError, ValueError):
                break
            if self.sink in readable:
                self.drain_workers()
            if self.sock in readable:
                try:
                    data = self.sock.recv(65536)
                except BlockingIOError:
                    data = None
                except OSError:
                    data = b""
                if data == b"":
                    self.alive = False
                    break
                if data:
                    incoming += data
                    while b"\n" in incoming:
                        line, incoming = incoming.split(b"\n", 1)
                        if line.strip():
                            self._answer(line)
            self._flush()

    def _flush(self, patience=None):
        """Writes what is waiting. Without `patience`, only what the socket takes now (the thread's
        turn); with it, until everything is written or the monitor has taken nothing for that many
        seconds (the end of the pool: a slow monitor gets it all, a stuck one does not hold the
        program)."""
        import select
        out = self.out
        last_progress = time.monotonic()
        while self.alive:
            if not self.pending:
                parts = []
                size = 0
                while out and size < WRITE_CHUNK:
                    line = out.popleft().encode()
                    parts.append(line)
                    size += len(line)
                if self.dropped:
                    parts.append(('{"v":2,"t":%s,"event":"eventsDropped","count":%d}\n'
                                  % (_t(self.now()), self.dropped)).encode())
                    self.dropped = 0
                if not parts:
                    return
                self.pending = b"".join(parts)
            try:
                sent = self.sock.send(self.pending)
                self.pending = self.pending[sent:]
                last_progress = time.monotonic()
            except BlockingIOError:
                if patience is None or time.monotonic() - last_progress > patience:
                    return
                try:
                    select.select([], [self.sock], [], 0.1)
                except (OSError, ValueError):
                    return
            except OSError:
                self.alive = False
                self.pending = b""

    def _close(self):
        for s in (self.sock, self.sink):
            try:
                s.close()
            except OSError:
                pass
        try:
            os.unlink(self.sink_path)
            os.rmdir(self.sinkdir)
        except OSError:
            pass

    def drain_workers(self):
        while True:
            try:
                data = self.sink.recv(1 << 20)
            except (BlockingIOError, OSError):
                return
            try:
                pid, parts = marshal.loads(data)
            except Exception:
                continue
            # One datagram at a time under the lock: the pool's own threads wait at most that long.
            with self.lock:
                for part in parts:
                    if type(part) is str:
                        self.out.append(part)
                    elif part[0] == "t":
                        _, job, chunk, count, at = part
                        start, count = self.chunk_range(job, chunk) if count < 0 else (chunk, count)
                        self.held[pid] = (job, chunk)
                        self.queued_chunks = max(0, self.queued_chunks - 1)
                        self.queued_items = max(0, self.queued_items - count)
                        self.emit('"event":"chunkDispatched","job":%d,"chunk":%d,"start":%d,"count":%d,"pid":%d,%s'
                                  % (job, chunk, start, count, pid, self.queue_text()), at)
                    elif part[0] == "d":
                        self.held.pop(pid, None)
                    elif part[0] == "r":
                        slot = self.slots.get(pid)
                        if slot is not None:
                            self.emit('"event":"workerReady","slot":%d,"pid":%d' % (slot, pid), part[1])
                    elif part[0] == "x":
                        self.dropped += part[1]
                    elif part[0] == "e":
                        info = self.jobs.get(part[1])
                        if info is not None and info["error"] is None:
                            info["error"] = part[2]

    def _answer(self, line):
        try:
            command = json.loads(line)
            ident = int(command.get("id", -1))
            kind = command.get("command")
        except Exception:
            return self._reply(-1, False, "not a command: %r" % line[:80])
        try:
            if kind == "signal":
                pid, sig = int(command["pid"]), int(command["signal"])
                with self.lock:
                    workers = [p.pid for p in list(getattr(self.pool, "_pool", []))]
                if pid not in workers:
                    return self._reply(ident, False, "%d is not a worker of this pool" % pid)
                os.kill(pid, sig)
                return self._reply(ident, True, "signal %d → worker %d" % (sig, pid))
            if kind == "resize":
                return self._resize(ident, int(command["workers"]))
            if kind == "chunksize":
                size = command.get("chunksize")
                if size is not None and int(size) < 1:
                    return self._reply(ident, False, "chunk size must be at least 1 (got %s)" % size)
                self.chunk_override = None if size is None else int(size)
                self.emit('"event":"settingsChanged"' + ("" if size is None else ',"chunksize":%d' % int(size)))
                return self._reply(ident, True, "next jobs: chunk size %s" % ("their own" if size is None else size))
            return self._reply(ident, False, "unknown command %r" % kind)
        except Exception as error:
            return self._reply(ident, False, "%s: %s" % (type(error).__name__, error))

    def _resize(self, ident, workers):
        pool = self.pool
        if workers < 1 or workers > 1024:
            return self._reply(ident, False, "workers must be between 1 and 1024 (got %d)" % workers)
        if getattr(pool, "_state", None) != "RUN":
            return self._reply(ident, False, "the pool is closed")
        with self.lock:
            current = self.desired
            if workers < current:
                return self._reply(ident, False, "a CPython pool only grows: its workers share one task "
                                   "queue, so one cannot be retired safely")
            self.desired = workers
            pool._processes = workers
            self.emit('"event":"poolResized","from":%d,"to":%d' % (current, workers))
            pool._repopulate_pool()
        try:
            pool._change_notifier.put(None)
        except Exception:
            pass
        return self._reply(ident, True, "workers → %d" % workers)

    def _reply(self, ident, ok, message):
        reply = {"channel": "reply", "id": ident, "ok": ok, "message": message}
        self.out.append(json.dumps(reply, separators=(",", ":"), ensure_ascii=False) + "\n")


def _program():
    try:
        with open("/proc/self/cmdline", "rb") as f:
            return " ".join(a.decode(errors="replace") for a in f.read().split(b"\0") if a)
    except OSError:
        return " ".join([sys.executable] + sys.argv)


# ---------------------------------------------------------------------------------------------
# The worker: a recorder per process, fed by the queue wrappers and `_chunk`.

class _Recorder:
    def __init__(self, sink_path, t0):
        self.sink_path = sink_path
        self.t0 = t0
        self.pid = os.getpid()
        self.records = collections.deque()
        self.current = None      # (job, index, start ns) of the item running now
        self.announced = None
        self.task = None         # (job, chunk) taken
        self.chunked = False     # the task runs through _chunk (it times its own items)
        self.dropped = 0
        self.last_flush = 0
        self.task_began = 0
        self.flush_lock = threading.Lock()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.records.append(("r", time.monotonic_ns() - t0))
        thread = threading.Thread(target=self._run, name="poolmon events", daemon=True)
        # SIGTERM (Pool.terminate, `with Pool()`'s end) is left to the main thread: the kernel
        # gives a process's signal to any thread that does not block it, and where a Python
        # handler is installed (by the user's initializer, say) CPython runs it only on the main
        # thread, woken from the task queue's lock (sem_wait) only if the signal is delivered to
        # that thread: delivered to this one instead, the worker waited for ever on a lock its
        # dead neighbour held, and its pool's join with it. The thread inherits the mask it
        # starts with, so block SIGTERM around its start.
        import signal
        try:
            blocked = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
        except (AttributeError, OSError, ValueError):
            blocked = None
        try:
            thread.start()
        finally:
            if blocked is not None:
                signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

    def _run(self):
        while True:
            time.sleep(FLUSH_SECONDS)
            self.flush()

    def flush(self, timeout=None):
        if not self.flush_lock.acquire(timeout=-1 if timeout is None else timeout):
            return
        try:
            self._flush()
        finally:
            self.flush_lock.release()

    def _flush(self):
        pid = self.pid
        t0 = self.t0
        parts = []
        lines = []
        self.last_flush = time.monotonic_ns()
        run = None   # [job, start, count, ns, end]
        records = self.records
        announced = self.announced

        def close_run():
            lines.append('{"v":2,"t":%s,"event":"itemsFinished","job":%d,"start":%d,"count":%d,"pid":%d,"ns":%d}\n'
                         % (_t(run[4] - t0), run[0], run[1], run[2], pid, run[3]))

        while records:
            record = records.popleft()
            if record[0] == "i":
                _, job, index, begin, end, error = record
                ns = end - begin
                if error is None and ns < PER_ITEM_NS and not (announced is not None and announced[0] == job
                                                               and announced[1] == index and announced[2] == begin):
                    if run is not None and run[0] == job and run[1] + run[2] == index:
                        run[2] += 1
                        run[3] += ns
                        run[4] = end
                        continue
                    if run is not None:
                        close_run()
                    run = [job, index, 1, ns, end]
                    continue
                if run is not None:
                    close_run()
                    run = None
                if error is None:
                    lines.append('{"v":2,"t":%s,"event":"itemFinished","job":%d,"index":%d,"pid":%d,"ns":%d}\n'
                                 % (_t(end - t0), job, index, pid, ns))
                else:
                    lines.append('{"v":2,"t":%s,"event":"itemFinished","job":%d,"index":%d,"pid":%d,"ns":%d,"error":%s}\n'
                                 % (_t(end - t0), job, index, pid, ns, json.dumps(error)))
                    parts.append(("e", job, error))
            elif record[0] == "f":
                _, job, index, count, begin, end = record
                if run is not None and run[0] == job and run[1] + run[2] == index:
                    run[2] += count
                    run[3] += end - begin
                    run[4] = end
                    continue
                if run is not None:
                    close_run()
                run = [job, index, count, end - begin, end]
            else:
                if run is not None:
                    close_run()
                    run = None
                if lines:
                    parts.append("".join(lines))
                    lines = []
                parts.append(record)
            if len(lines) > DATAGRAM_LINES // 100:
                if run is not None:
                    close_run()
                    run = None
                parts.append("".join(lines))
                lines = []
                if sum(len(p) for p in parts if type(p) is str) > DATAGRAM_LINES:
                    self._send(parts)
                    parts = []
        if run is not None:
            close_run()
        # The item running now, once it has run a little while: the monitor shows it at once.
        current = self.current
        if current is not None and current is not self.announced and \
                time.monotonic_ns() - current[2] > PER_ITEM_NS // 4:
            self.announced = current
            lines.append('{"v":2,"t":%s,"event":"itemStarted","job":%d,"index":%d,"pid":%d}\n'
                         % (_t(current[2] - t0), current[0], current[1], pid))
        if lines:
            parts.append("".join(lines))
        if self.dropped and parts:
            parts.append(("x", self.dropped))
            self.dropped = 0
        if parts:
            self._send(parts)

    def _send(self, parts):
        data = marshal.dumps((self.pid, parts))
        if len(data) > DATAGRAM_BYTES and len(parts) > 1:
            # Too big for one datagram: in halves, in order.
            half = len(parts) // 2
            self._send(parts[:half])
            self._send(parts[half:])
            return
        for _ in range(100):
            try:
                self.sock.sendto(data, self.sink_path)
                return
            except BlockingIOError:
                time.sleep(0.01)
            except OSError as error:
                if error.errno == errno.EMSGSIZE and len(parts) > 1:
                    half = len(parts) // 2
                    self._send(parts[:half])
                    self._send(parts[half:])
                    return
                break
        self.dropped += sum(1 for part in parts if type(part) is not str) + sum(part.count("\n") for part in parts if type(part) is str)

    # called from the worker's main thread

    def item(self, job, index, begin, error=None):
        self.records.append(("i", job, index, begin, time.monotonic_ns(), error))


_recorder = None


class _TaskQueue:
    """The worker's end of the pool's task queue: notes each task taken."""

    def __init__(self, queue, recorder):
        self._queue = queue
        self._recorder = recorder

    def __getattr__(self, name):
        return getattr(self._queue, name)

    def get(self):
        task = self._queue.get()
        if task is not None:
            recorder = self._recorder
            job, i, func, args, kwds = task
            now = recorder.task_began = time.monotonic_ns()
            if func is _chunk:
                recorder.chunked = True
                recorder.records.append(("t", job, i, -1, now - recorder.t0))
            else:
                # A single item (apply_async, imap with chunk size 1): the task is the item.
                recorder.chunked = False
                recorder.records.append(("t", job, i, 1 if func.__module__ != "multiprocessing.pool" else -1,
                                         now - recorder.t0))
                recorder.current = (job, i, now)
            recorder.task = (job, i)
        return task


class _ResultQueue:
    """The worker's end of the pool's result queue: notes each task done."""

    def __init__(self, queue, recorder):
        self._queue = queue
        self._recorder = recorder

    def __getattr__(self, name):
        return getattr(self._queue, name)

    def put(self, item):
        recorder = self._recorder
        if not recorder.chunked and recorder.current is not None:
            job, i, begin = recorder.current
            recorder.current = None
            success, value = item[2]
            recorder.item(job, i, begin, None if success else _describe(value))
        recorder.records.append(("d", item[0], item[1]))
        # Everything recorded goes out before the result does: the monitor never sees a result
        # before its items, and once the parent has every result (and may terminate the pool,
        # as `with Pool()` does at its end) nothing of them is left unsent. A worker the pool
        # SIGTERMs then simply dies (SIG_DFL). A Python-level SIGTERM handler that flushed first
        # could hang the pool: a signal landing just before the worker blocked on the task
        # queue's lock ran only the C handler, and the Python one waited for a bytecode boundary
        # that never came (caught in a loop of `poolmon run` on the throughput anchor, about 1
        # run in 100: no SIGTERM pending, the worker in sem_wait, the pool joining it).
        recorder.flush()
        return self._queue.put(item)


def _describe(error):
    try:
        return "%s: %s" % (type(error).__name__, error)
    except Exception:
        return type(error).__name__


def _worker_init(*args):
    """A marker: the pool is watched (its initargs carry the sink, the clock and the user's initializer)."""


def _worker(inqueue, outqueue, initializer=None, initargs=(), maxtasks=None, wrap_exception=False):
    """The target of a watched pool's worker processes: multiprocessing.pool.worker, recorded."""
    import multiprocessing.pool as mp
    original = _original.get("worker") or mp.worker
    if initializer is not _worker_init:
        return original(inqueue, outqueue, initializer, initargs, maxtasks, wrap_exception)
    global _recorder
    sink_path, t0, initializer, initargs = initargs
    recorder = _recorder = _Recorder(sink_path, t0)
    _tag_output()
    try:
        return original(_TaskQueue(inqueue, recorder), _ResultQueue(outqueue, recorder),
                                   initializer, initargs, maxtasks, wrap_exception)
    finally:
        recorder.flush(timeout=2)


class _TaggedStream:
    """sys.stdout or sys.stderr of a watched worker: each line it starts begins with the worker's
    mark (poolmon's WorkerOutputTag), written in the same call as the line's text, so the output
    pane names the worker. Everything else is the wrapped stream's own."""

    def __init__(self, stream, tag):
        self._stream = stream
        self._tag = tag
        self._at_line_start = True

    def write(self, text):
        if not isinstance(text, str) or not text:
            return self._stream.write(text)
        pieces = []
        position = 0
        while position < len(text):
            newline = text.find("\n", position)
            end = len(text) if newline < 0 else newline + 1
            if self._at_line_start:
                pieces.append(self._tag)
            pieces.append(text[position:end])
            self._at_line_start = newline >= 0
            position = end
        self._stream.write("".join(pieces))
        return len(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _tag_output():
    """Under `poolmon watch`, the workers write to the program's own pipe: mark their lines with
    their PID, but only while the stream is still that very pipe (device and inode in
    POOLMON_OUTPUT_PIPE), so output the script sends anywhere else is never touched."""
    expected = os.environ.get("POOLMON_OUTPUT_PIPE")
    if not expected:
        return
    tag = "\x1b]7771;%d\x07" % os.getpid()
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name, None)
        if stream is None or isinstance(stream, _TaggedStream):
            continue
        try:
            status = os.fstat(stream.fileno())
        except Exception:
            continue
        if "%d:%d" % (status.st_dev, status.st_ino) == expected:
            setattr(sys, name, _TaggedStream(stream, tag))


def _chunk(star, start, function_and_items):
    """mapstar/starmapstar, recorded (`start` is the chunk's first index in its job).

    Items are timed one by one while they are long (over 0.2 ms: the monitor shows each); short
    ones run in batches through the same C loop as mapstar (`map`/`starmap`), one record per batch,
    so that watching tiny items costs next to nothing. A failure is pinned to its item either way.
    """
    function, items = function_and_items
    recorder = _recorder
    runner = itertools.starmap if star else map
    if recorder is None:
        return list(runner(function, items))
    job = recorder.task[0] if recorder.task else -1
    results = []
    records = recorder.records
    clock = time.monotonic_ns
    count = len(items)
    done = 0
    batch = 0          # 0: one item at a time, timed; else the next batch's size
    while done < count:
        index = start + done
        if batch == 0:
            item = items[done]
            begin = clock()
            recorder.current = (job, index, begin)
            try:
                value = function(*item) if star else function(item)
            except BaseException as error:
                recorder.current = None
                records.append(("i", job, index, begin, clock(), _describe(error)))
                raise
            end = clock()
            recorder.current = None
            records.append(("i", job, index, begin, end, None))
            results.append(value)
            done += 1
            if end - begin < FAST_ITEM_NS:
                batch = 16
        else:
            size = min(batch, count - done)
            begin = clock()
            try:
                results.extend(runner(function, itertools.islice(items, done, done + size)))
            except BaseException as error:
                end = clock()
                finished = len(results) - done
                if finished:
                    records.append(("f", job, index, finished, begin, end))
                records.append(("i", job, index + finished, end, end, _describe(error)))
                raise
            end = clock()
            records.append(("f", job, index, size, begin, end))
            done += size
            if (end - begin) // size >= FAST_ITEM_NS:
                batch = 0
            else:
                batch = min(batch * 2, 4096)
    return results


# ---------------------------------------------------------------------------------------------
# The parent's seams.

_original = {}


def _watch_of(pool):
    return getattr(pool, "_poolmon_watch", None)


def install():
    """Instruments multiprocessing.pool.Pool in this process (only when POOLMON_SOCKET is set)."""
    global _installed
    if _installed or not os.environ.get(SOCKET_ENV):
        return
    _installed = True
    import multiprocessing.pool as mp

    Pool = mp.Pool
    _original["worker"] = mp.worker
    mp.worker = _worker

    original_repopulate = Pool._repopulate_pool
    original_static = Pool._repopulate_pool_static
    original_join_exited = Pool._join_exited_workers
    original_guarded = Pool._guarded_task_generation
    original_map_async = Pool._map_async
    original_imap = Pool.imap
    original_imap_unordered = Pool.imap_unordered
    original_apply_async = Pool.apply_async
    original_close = Pool.close
    original_join = Pool.join
    original_terminate_pool = Pool._terminate_pool.__func__
    original_apply_init = mp.ApplyResult.__init__
    original_apply_set = mp.ApplyResult._set
    original_map_init = mp.MapResult.__init__
    original_map_set = mp.MapResult._set
    original_imap_init = mp.IMapIterator.__init__
    original_imap_set = mp.IMapIterator._set
    original_imap_unordered_set = mp.IMapUnorderedIterator._set
    original_set_length = mp.IMapIterator._set_length
    mapstar, starmapstar = mp.mapstar, mp.starmapstar

    def _repopulate_pool(self):
        if isinstance(self, mp.ThreadPool):
            return original_repopulate(self)
        watch = _watch_of(self)
        if watch is None and not getattr(self, "_poolmon_refused", False):
            try:
                watch = _PoolWatch(self, self._processes)
            except OSError:
                self._poolmon_refused = True   # no monitor to talk to: the pool runs unwatched
                watch = None
            if watch is not None:
                self._poolmon_watch = watch
                _watches_by_list[id(self._pool)] = watch
        return original_repopulate(self)

    def _repopulate_pool_static(ctx, Process, processes, pool, inqueue, outqueue, initializer, initargs,
                                maxtasksperchild, wrap_exception):
        watch = _watches_by_list.get(id(pool))
        if watch is None:
            return original_static(ctx, Process, processes, pool, inqueue, outqueue, initializer, initargs,
                                   maxtasksperchild, wrap_exception)
        with watch.lock:
            before = list(pool)
            try:
                return original_static(ctx, Process, max(processes, watch.desired), pool, inqueue, outqueue,
                                       _worker_init, (watch.sink_path, watch.t0, initializer, initargs),
                                       maxtasksperchild, wrap_exception)
            finally:
                for process in pool:
                    if not any(process is p for p in before):
                        watch.worker_started(process)

    def _join_exited_workers(pool):
        watch = _watches_by_list.get(id(pool))
        if watch is None:
            return original_join_exited(pool)
        with watch.lock:
            before = list(pool)
            cleaned = original_join_exited(pool)
            if cleaned:
                for process in before:
                    if not any(process is p for p in pool):
                        watch.worker_exited(process)
            return cleaned

    def _guarded_task_generation(self, result_job, func, iterable):
        watch = _watch_of(self)
        tasks = original_guarded(self, result_job, func, iterable)
        if watch is None:
            yield from tasks
            return
        queue_each = result_job in watch.jobs and watch.jobs[result_job].get("lazy")
        star = func is starmapstar
        start = 0
        for task in tasks:
            job, i, f, args, kwds = task
            if f is mapstar or f is starmapstar:
                count = len(args[0][1])
                if queue_each:
                    watch.chunk_queued(job, i, start, count)
                task = (job, i, _chunk, (star, start, args[0]), kwds)
                start += count
            elif queue_each:
                watch.chunk_queued(job, i, i, 1)
            yield task

    def _map_async(self, func, iterable, mapper, chunksize=None, callback=None, error_callback=None):
        watch = _watch_of(self)
        if watch is None:
            return original_map_async(self, func, iterable, mapper, chunksize, callback, error_callback)
        if not hasattr(iterable, "__len__"):
            iterable = list(iterable)
        auto = chunksize is None
        if watch.chunk_override is not None:
            chunksize, auto = watch.chunk_override, False
        _submission.pending = (watch, _name(func), "starmap" if mapper is starmapstar else "map_async", auto)
        try:
            return original_map_async(self, func, iterable, mapper, chunksize, callback, error_callback)
        finally:
            _submission.pending = None

    def _imap_with(original, mode):
        def imap(self, func, iterable, chunksize=1):
            watch = _watch_of(self)
            if watch is None:
                return original(self, func, iterable, chunksize)
            if watch.chunk_override is not None:
                chunksize = watch.chunk_override
            try:
                items = len(iterable)
            except TypeError:
                items = 0
            _submission.pending = (watch, _name(func), mode, False, items, chunksize)
            try:
                return original(self, func, iterable, chunksize)
            finally:
                _submission.pending = None
        imap.__name__ = original.__name__
        imap.__doc__ = original.__doc__
        return imap

    def apply_async(self, func, args=(), kwds={}, callback=None, error_callback=None):
        watch = _watch_of(self)
        if watch is None:
            return original_apply_async(self, func, args, kwds, callback, error_callback)
        _submission.pending = (watch, _name(func), "apply", False)
        try:
            return original_apply_async(self, func, args, kwds, callback, error_callback)
        finally:
            _submission.pending = None

    def close(self):
        watch = _watch_of(self)
        was_running = getattr(self, "_state", None) == "RUN"
        original_close(self)
        if watch is not None and was_running:
            watch.closed = True
            watch.emit('"event":"poolState","state":"closed"')

    def join(self):
        original_join(self)
        watch = _watch_of(self)
        if watch is not None and self._state == "CLOSE":
            watch.finish("finished", "poolClosed")

    def _terminate_pool(cls, taskqueue, inqueue, outqueue, pool, *rest):
        watch = _watches_by_list.get(id(pool))
        try:
            return original_terminate_pool(cls, taskqueue, inqueue, outqueue, pool, *rest)
        finally:
            if watch is not None:
                _watches_by_list.pop(id(pool), None)
                watch.finish("finished" if watch.closed and not watch.jobs else "terminated",
                             "poolClosed" if watch.closed and not watch.jobs else "terminated")

    def _take_pending():
        pending = getattr(_submission, "pending", None)
        _submission.pending = None
        return pending

    def apply_init(self, pool, callback, error_callback):
        original_apply_init(self, pool, callback, error_callback)
        if type(self) is mp.ApplyResult:
            pending = _take_pending()
            if pending is not None:
                watch, function, mode, auto = pending[:4]
                watch.job_submitted(self._job, function, 1, 1, False, mode, True)

    def map_init(self, pool, chunksize, length, callback, error_callback):
        pending = _take_pending()
        original_map_init(self, pool, chunksize, length, callback, error_callback)
        if pending is not None:
            watch, function, mode, auto = pending[:4]
            watch.job_submitted(self._job, function, length, chunksize, auto, mode, True)
            if self._event.is_set():
                watch.completed(self._job)

    def map_set(self, i, success_result):
        original_map_set(self, i, success_result)
        watch = _watches_by_job.get(self._job)
        if watch is not None:
            if not success_result[0]:
                info = watch.jobs.get(self._job)
                if info is not None and info["error"] is None:
                    info["error"] = _describe(success_result[1])
            if self._event.is_set():
                if self._success:
                    watch.delivered(self._job, 0, len(self._value))
                watch.completed(self._job)

    def apply_set(self, i, obj):
        original_apply_set(self, i, obj)
        watch = _watches_by_job.get(self._job)
        if watch is not None and type(self) is mp.ApplyResult:
            if obj[0]:
                watch.delivered(self._job, 0, 1)
            watch.completed(self._job, None if obj[0] else _describe(obj[1]))

    def imap_init(self, pool):
        pending = _take_pending()
        original_imap_init(self, pool)
        if pending is not None:
            watch, function, mode, auto, items, chunksize = pending
            watch.job_submitted(self._job, function, items, chunksize, False, mode, False)
            watch.jobs[self._job]["lazy"] = True

    def _imap_delivery(self, before_index, i, obj, unordered):
        watch = _watches_by_job.get(self._job)
        if watch is None:
            return
        with watch.lock:
            if not obj[0]:
                info = watch.jobs.get(self._job)
                if info is not None and info["error"] is None:
                    info["error"] = _describe(obj[1])
            chunks = [i] if unordered else range(before_index, self._index)
            for chunk in chunks:
                start, count = watch.chunk_range(self._job, chunk)
                watch.delivered(self._job, start, count)
            if self._length is not None and self._index == self._length:
                watch.completed(self._job)

    def imap_set(self, i, obj):
        before = self._index
        original_imap_set(self, i, obj)
        _imap_delivery(self, before, i, obj, False)

    def imap_unordered_set(self, i, obj):
        before = self._index
        original_imap_unordered_set(self, i, obj)
        _imap_delivery(self, before, i, obj, True)

    def set_length(self, length):
        original_set_length(self, length)
        watch = _watches_by_job.get(self._job)
        if watch is not None and self._index == length:
            watch.completed(self._job)

    Pool._repopulate_pool = _repopulate_pool
    Pool._repopulate_pool_static = staticmethod(_repopulate_pool_static)
    Pool._join_exited_workers = staticmethod(_join_exited_workers)
    Pool._guarded_task_generation = _guarded_task_generation
    Pool._map_async = _map_async
    Pool.imap = _imap_with(original_imap, "imap")
    Pool.imap_unordered = _imap_with(original_imap_unordered, "imap_unordered")
    Pool.apply_async = apply_async
    Pool.close = close
    Pool.join = join
    Pool._terminate_pool = classmethod(_terminate_pool)
    mp.ApplyResult.__init__ = apply_init
    mp.ApplyResult._set = apply_set
    mp.MapResult.__init__ = map_init
    mp.MapResult._set = map_set
    mp.IMapIterator.__init__ = imap_init
    mp.IMapIterator._set = imap_set
    mp.IMapUnorderedIterator._set = imap_unordered_set
    mp.IMapIterator._set_length = set_length
