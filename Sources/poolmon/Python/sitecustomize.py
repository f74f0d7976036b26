"""poolmon's sitecustomize: instruments multiprocessing.Pool when POOLMON_SOCKET is set, then runs
the `sitecustomize` the user already had (the next one on sys.path), as if this one were not here."""

import os
import sys


def _poolmon_install():
    if not os.environ.get("POOLMON_SOCKET"):
        return
    if os.environ.get("POOLMON_PYTHON_STACKS"):
        # For poolmon's own tests: SIGUSR1 prints every thread's Python stack on stderr, so that
        # a test that gives up on a hung program can say where each process was.
        try:
            import faulthandler
            import signal
            faulthandler.register(signal.SIGUSR1, all_threads=True)
        except Exception:
            pass
    try:
        import poolmon_cpython
        poolmon_cpython.install()
    except Exception as error:  # never break the user's program
        sys.stderr.write("poolmon: cannot instrument multiprocessing: %s\n" % error)
    # Unbuffered streams (PYTHONUNBUFFERED, which `poolmon watch` sets so that prints show at once)
    # write a print's text and its newline separately, and two workers' lines then interleave in
    # the output pane. Line buffering writes each line whole, as soon as it ends.
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None and stream.write_through:
                stream.reconfigure(write_through=False, line_buffering=True)
        except Exception:
            pass


def _poolmon_chain():
    import importlib.machinery
    import importlib.util
    here = os.path.dirname(os.path.abspath(__file__))
    paths = [p for p in sys.path if os.path.abspath(p or os.getcwd()) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", paths)
    if spec is None or spec.loader is None or spec.origin is None:
        return
    if os.path.abspath(spec.origin) == os.path.abspath(__file__):
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


_poolmon_install()
_poolmon_chain()
