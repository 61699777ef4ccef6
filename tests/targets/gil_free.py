"""Main thread plus two named workers busy on a CPU: "spin" spins in Python
(it holds the GIL), "hash" hashes a large bytes object in a loop
(hashlib releases the GIL while it hashes more than 2 KiB, so it runs
without it nearly all the time).  Workers report their native thread ids
and wait for "go"; the ready message maps each role to its id.  The main
thread sleeps."""
import hashlib
import threading

import _common as c

# 16 MiB: tens of milliseconds a hash without the GIL against microseconds
# of Python with it (and up to a switch interval waiting for it, off CPU)
DATA = bytes(range(256)) * (16 << 12)


class Workers:
    def __init__(self):
        self.tids = {}
        self.started = {}
        self.go = threading.Event()

    def spin(self):
        self._started("spin")
        while c.now() < c.END: pass  # @spin

    def hash(self):
        self._started("hash")
        while c.now() < c.END: hashlib.sha256(DATA).digest()  # @hash

    def _started(self, role):
        self.tids[role] = threading.get_native_id()
        self.started[role].set()
        self.go.wait(30)


def main():
    w = Workers()
    roles = ("spin", "hash")
    for role in roles:
        w.started[role] = threading.Event()
        threading.Thread(target=getattr(w, role), name=role, daemon=True).start()
    for role in roles:
        if not w.started[role].wait(30):
            raise SystemExit("worker %s did not start" % role)
    tids = dict(w.tids)
    tids["main"] = threading.get_native_id()
    c.signal("ready", __file__, threads=tids)
    w.go.set()
    while c.now() < c.END: c.time.sleep(0.005)  # @main_wait
    c.timed_out()


if __name__ == "__main__":
    main()  # @module
