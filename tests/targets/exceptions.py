"""Two busy threads: "handler" spins inside an except block, "plain" spins
outside any; the main thread sleeps.  --mode exception must keep only the
handler (an active exception, and on a CPU or holding the GIL)."""
import threading
import time

import _common as c


def handler():
    try:
        raise ValueError("kept active while spinning")
    except ValueError:
        while c.now() < c.END: pass  # @handler


def plain():
    while c.now() < c.END: pass  # @plain


def main():
    tids = {}
    ready = threading.Event()

    def start(role, fn):
        def run():
            tids[role] = threading.get_native_id()
            if len(tids) == 2:
                ready.set()
            fn()
        t = threading.Thread(target=run, name=role, daemon=True)
        t.start()

    start("handler", handler)
    start("plain", plain)
    ready.wait(30)
    tids["main"] = threading.get_native_id()
    c.signal("ready", __file__, threads=tids)
    while c.now() < c.END: time.sleep(0.005)  # @main_wait
    c.timed_out()


if __name__ == "__main__":
    main()  # @module
