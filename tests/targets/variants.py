"""Two versions of one program, for differential flame graphs: with
STROBE_VARIANT=a (the default) main() calls common() and only_a(); with
STROBE_VARIANT=b it calls common() twice as long and only_b() instead, so a
diff of b against a has a slower function, a new one and one that is gone.
Each leaf spends its time on one line."""
import os

import _common as c


def common(n):  # @common_def
    for _ in range(n): pass  # @common


def only_a(n):  # @only_a_def
    for _ in range(n): pass  # @only_a


def only_b(n):  # @only_b_def
    for _ in range(n): pass  # @only_b


def main():
    variant = os.environ.get("STROBE_VARIANT", "a")
    n = 20000
    c.signal("ready", __file__, variant=variant)
    while c.now() < c.END:
        if variant == "b":
            common(2 * n)  # @call_common_b
            only_b(n)  # @call_only_b
        else:
            common(n)  # @call_common_a
            only_a(n)  # @call_only_a
    c.timed_out()


if __name__ == "__main__":
    main()  # @module
