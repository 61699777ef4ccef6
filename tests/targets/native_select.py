"""A thread blocked in select.select() on a pipe nobody writes to: with
--native-stacks its stack ends in libc's select (select/__select/pselect,
maybe with libc's cancellation helpers above), below the Python line that
called it.  The main thread only waits; ready carries both native ids."""
import os
import select
import threading

import _common as c


def wait_select(r, started):
    started.set()
    while c.now() < c.END:
        select.select([r], [], [], 60)  # @select


def main():
    r, w = os.pipe()
    started = threading.Event()
    t = threading.Thread(target=wait_select, args=(r, started), name="selecter", daemon=True)
    t.start()
    started.wait()
    c.signal("ready", __file__, threads={"main": threading.get_native_id(), "selecter": t.native_id})
    while c.now() < c.END:
        t.join(0.5)  # @join
    c.timed_out()


if __name__ == "__main__":
    main()  # @module
