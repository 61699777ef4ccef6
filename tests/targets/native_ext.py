"""Python -> C -> Python through a C extension: main() calls
strobe_cb.call_back(work, n) (tests/targets/native_ext/strobe_cb.c, built by
the test), whose C functions strobe_cb_outer -> strobe_cb_inner call work()
back n times.  work() spins in bytecode, so most samples read
    <module> -> main -> [call_back, strobe_cb_outer, strobe_cb_inner] -> work
argv[1] is the directory holding the built module."""
import sys

import _common as c

if len(sys.argv) < 2:
    raise SystemExit("usage: native_ext.py DIR (DIR holds the built strobe_cb module)")
sys.path.insert(0, sys.argv[1])
import strobe_cb  # noqa: E402


def work():
    i = 0
    while i < 2000: i += 1  # @work
    return i


def main():
    c.signal("ready", __file__, module=strobe_cb.__file__)
    while c.now() < c.END:
        strobe_cb.call_back(work, 10)  # @call
    c.timed_out()


if __name__ == "__main__":
    main()  # @module
