"""Wall mode's time off CPU: the main thread and five workers, each in one
place for the whole run: one sleeps in a single long time.sleep (asleep
since before any profiler looked), one spins, one blocks in select() on a
pipe that never gets data, one waits for a lock the main thread holds,
and a brief one sleeps BRIEF seconds (STROBE_BRIEF_S) from "ready" and
ends.  The main thread naps 5 ms at a time.  The ready message maps each
role to its native thread id."""
import os
import select
import threading
import time

import _common as c

BRIEF = float(os.environ.get("STROBE_BRIEF_S", "1.0"))


def left():
    return max(0.0, c.END - c.now())


def sleeper(started):
    started.set()
    time.sleep(left())  # @sleeper


def spinner(started):
    started.set()
    while c.now() < c.END: pass  # @spinner


def selector(started):
    r, w = os.pipe()
    started.set()
    select.select([r], [], [], left())  # @selector


def locker(started, lock):
    started.set()
    lock.acquire(timeout=left())  # @locker


def brief(started, go):
    started.set()
    go.wait(30)
    time.sleep(BRIEF)  # @brief


def main():
    lock = threading.Lock()
    lock.acquire()
    go = threading.Event()
    roles = {"sleeper": (), "spinner": (), "selector": (), "locker": (lock,), "brief": (go,)}
    threads = {}
    for role, extra in roles.items():
        started = threading.Event()
        t = threading.Thread(target=globals()[role], args=(started,) + extra, name=role,
                             daemon=True)
        t.start()
        started.wait(30)
        threads[role] = t.native_id
    threads["main"] = threading.get_native_id()
    # the blocked ones are in their calls a moment after saying so
    time.sleep(0.2)
    c.signal("ready", __file__, threads=threads)
    go.set()
    while c.now() < c.END: time.sleep(0.005)  # @main_wait
    c.timed_out()


if __name__ == "__main__":
    main()  # @module
