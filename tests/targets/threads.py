"""Main thread plus three named workers: two spin on one line each, one
sleeps in a loop.  Workers start, report their native thread id
(threading.get_native_id()) and wait for "go", so thread start-up is not
slowed by spinning siblings; then the ready message maps each role to its id."""
import os
import threading
import time

import _common as c

# the sleeper's naps (STROBE_SLEEP_S): long ones keep it off the run queue
# even when every CPU is busy
SLEEP = float(os.environ.get("STROBE_SLEEP_S", "0.005"))


class Workers:
    def __init__(self):
        self.tids = {}
        self.started = {}
        self.go = threading.Event()

    def spin_a(self):
        self._started("spin_a")
        while c.now() < c.END: pass  # @spin_a

    def spin_b(self):
        self._started("spin_b")
        while c.now() < c.END: pass  # @spin_b

    def sleeper(self):
        self._started("sleeper")
        while c.now() < c.END: time.sleep(SLEEP)  # @sleeper

    def _started(self, role):
        self.tids[role] = threading.get_native_id()
        self.started[role].set()
        self.go.wait(30)


def main():
    w = Workers()
    roles = ("spin_a", "spin_b", "sleeper")
    threads = []
    for role in roles:
        w.started[role] = threading.Event()
        t = threading.Thread(target=getattr(w, role), name=role, daemon=True)
        t.start()
        threads.append(t)
    for role in roles:
        if not w.started[role].wait(30):
            raise SystemExit("worker %s did not start" % role)
    tids = dict(w.tids)
    tids["main"] = threading.get_native_id()
    # "ready" before "go": once the two spinners pass the GIL between them,
    # a thread that gave it up for a write can wait long to get it back
    # (3.14 on a loaded host: the main thread 0.6 s in that write)
    c.signal("ready", __file__, threads=tids)
    w.go.set()
    while c.now() < c.END: time.sleep(0.005)  # @main_wait
    c.timed_out()


if __name__ == "__main__":
    main()  # @module
