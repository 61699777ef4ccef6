"""A small program to profile: a toy pipeline that tokenises text, counts
words and renders a report, for about three seconds.

    build/strobe run examples/demo.py
"""
import time

WORDS = ("strobe samples python stacks from outside the process without "
         "stopping it and reports where the time goes").split()


def make_text(n):
    return " ".join(WORDS[(i * 7) % len(WORDS)] for i in range(n))


def tokenize(text):
    return [w.strip(".,").lower() for w in text.split()]


def count(tokens):
    counts = {}
    for t in tokens:
        counts[t] = counts.get(t, 0) + 1
    return counts


def render(counts):
    lines = []
    for word, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append("%-12s %6d %s" % (word, n, "#" * (n // 500)))
    return "\n".join(lines)


class Pipeline:
    def __init__(self, size):
        self.text = make_text(size)

    def run(self):
        return render(count(tokenize(self.text)))


def main(seconds=3.0):
    pipeline = Pipeline(20000)
    end = time.monotonic() + seconds
    rounds = 0
    while time.monotonic() < end:
        report = pipeline.run()
        rounds += 1
    print("demo: %d rounds, top word: %s" % (rounds, report.split()[0]))


if __name__ == "__main__":
    main()
