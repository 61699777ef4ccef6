"""Helpers shared by strobe's test targets.  Runs on CPython 3.8-3.15.

A target tells the test that it is ready by writing one JSON line to the file
descriptor named by STROBE_READY_FD (or, if that is unset, appending to the
path in STROBE_READY_PATH; with neither it prints the line on stderr, which is
handy when running a target by hand).  The line carries what a test needs to
know exactly: pid, native thread ids, interpreter version, argv, and the line
numbers of every source line marked with a trailing "# @name" comment, so no
test hard-codes a line number.

Every target holds still only until END (STROBE_PROCESS_TIMEOUT seconds after
start, default 60) and then exits with status 3, so nothing is left running if
a test or the profiler dies.
"""
import json
import os
import sys
import threading
import time

now = time.monotonic


def _float_env(name, default):
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return float(default)


END = now() + _float_env("STROBE_PROCESS_TIMEOUT", "60")

_lock = threading.Lock()
_out = []  # the opened STROBE_READY_PATH, kept open so a FIFO reader sees one stream


def markers(path):
    """{name: line} for every line of `path` ending in a '# @name' comment."""
    found = {}
    with open(path, encoding="utf-8") as f:
        for lineno, text in enumerate(f, 1):
            head, sep, tail = text.rstrip().rpartition("# @")
            if sep and tail and all(ch.isalnum() or ch == "_" for ch in tail):
                found[tail] = lineno
    return found


def signal(event, path=None, **info):
    """Send one message ({"event": event, ...}) to the test."""
    msg = {
        "event": event,
        "pid": os.getpid(),
        "tid": threading.get_native_id(),
        "version": list(sys.version_info[:3]),
        "argv0": sys.argv[0],
        "argv": sys.argv[1:],
    }
    if path is not None:
        msg["file"] = os.path.abspath(path)
        msg["lines"] = markers(path)
    msg.update(info)
    data = (json.dumps(msg, sort_keys=True) + "\n").encode("ascii")
    with _lock:
        fd = os.environ.get("STROBE_READY_FD")
        if fd:
            os.write(int(fd), data)
        elif os.environ.get("STROBE_READY_PATH"):
            if not _out:
                _out.append(open(os.environ["STROBE_READY_PATH"], "ab", buffering=0))
            _out[0].write(data)
        else:
            sys.stderr.write(data.decode("ascii"))
            sys.stderr.flush()


def timed_out():
    sys.stderr.write("target: STROBE_PROCESS_TIMEOUT reached, exiting\n")
    sys.stderr.flush()
    os._exit(3)
