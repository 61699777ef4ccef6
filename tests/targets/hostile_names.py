"""Names chosen to break a profiler's output: two functions whose names
(co_name, and co_qualname on 3.11+) and file names (co_filename) hold ';',
a newline, a backslash, terminal escapes (set the window title, clear the
screen) and lone surrogates.  The outer one's file is real (written beside
this script; its source lines carry escapes too), the inner one's file name
ends in a surrogateescape'd byte 0xff (a file name that is no UTF-8, as
Python decodes it).  The inner one holds still (sleeping, on its own line)
until the timeout; a helper thread says "ready" once it does, and ends.

Expected stack, root first:  <module>@module  main@main  OUTER@call  INNER@hold
The ready message (its "tid" the main thread's) gives the names as JSON
strings (json escapes lone surrogates), the outer file's path as "hostile_file", the inner one's as
"hostile_file2", and the lines of @call and @hold in them.
"""
import os
import sys
import threading
import time

import _common as c

ESC = "\x1b"
TITLE = ESC + "]0;pwned\x07"   # set the terminal's window title
CLEAR = ESC + "[2J"            # clear the screen
FILE_NAME = "ev;il\n" + CLEAR + "\\.py"
FILE_NAME2 = "ev;il\n" + CLEAR + "\\\udcff.py"
OUTER = "out;er\n" + CLEAR + "\\x"
INNER = "in" + TITLE + "\ud800"

SOURCE = (
    "import time\n"
    "\n"
    "def outer(end):\n"
    "    return inner(end)  # @call " + TITLE + "\n"
    "\n"
    "def inner(end):\n"
    "    signal()\n"
    "    while now() < end: time.sleep(0.005)  # @hold " + CLEAR + TITLE + "\n"
)


def renamed(func, name, filename=None):
    """func with co_name (and co_qualname, 3.11+) set to name, and
    co_filename to filename if given."""
    code = func.__code__
    if filename is not None:
        code = code.replace(co_filename=filename)
    if hasattr(code, "co_qualname"):
        code = code.replace(co_name=name, co_qualname=name)
    else:
        code = code.replace(co_name=name)
    func.__code__ = code
    func.__name__ = func.__qualname__ = name
    return func


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path, path2 = os.path.join(here, FILE_NAME), os.path.join(here, FILE_NAME2)
    with open(path, "w", encoding="utf-8") as f:
        f.write(SOURCE)
    ns = {}
    lines = marked_lines(SOURCE)
    main_ident, main_tid = threading.get_ident(), threading.get_native_id()

    def watch():
        # "ready" only once the main thread holds still on @hold (sent
        # from here: a message sent by the main thread itself would come
        # while it is still in the sending code)
        while c.now() < c.END:
            f = sys._current_frames().get(main_ident)
            if f is not None and f.f_code is ns["inner"].__code__ and f.f_lineno == lines["hold"]:
                c.signal("ready", __file__, tid=main_tid, hostile_file=path, hostile_file2=path2,
                         outer=OUTER, inner=INNER, hostile_lines=lines)
                return
            time.sleep(0.001)

    def signal():
        threading.Thread(target=watch, daemon=True).start()

    ns["signal"] = signal
    ns["now"] = c.now
    exec(compile(SOURCE, path, "exec"), ns)
    renamed(ns["outer"], OUTER)
    renamed(ns["inner"], INNER, path2)
    ns["outer"](c.END)  # @main
    c.timed_out()


def marked_lines(source):
    """{name: line} of the '# @name' markers of source."""
    found = {}
    for lineno, text in enumerate(source.split("\n"), 1):
        head, sep, tail = text.partition("# @")
        if sep:
            found[tail.split(" ")[0]] = lineno
    return found


if __name__ == "__main__":
    main()  # @module
