"""Python called back from C: list(map(work, ...)) makes the interpreter
call work() from C, so with --native a <native> frame sits between main()
and work() (CPython 3.12+ marks such entries in its frame chain)."""
import _common as c


def work(i):
    t = c.now() + 0.001
    while c.now() < t: pass  # @work
    return i


def main():
    c.signal("ready", __file__)
    while c.now() < c.END:
        list(map(work, range(100)))  # @map
    c.timed_out()


if __name__ == "__main__":
    main()  # @module
