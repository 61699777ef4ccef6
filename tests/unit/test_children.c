/* test_children.c - the command line --subprocesses runs for each child
 * (profiling_children_argv): Tachyon's _build_child_profiler_args and
 * _build_output_pattern (profiling/sampling/cli.py), option by option. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "profiling/profiling.h"
#include "harness.h"

#define ARGV(...) ((char *[]){ "strobe", __VA_ARGS__, NULL })

static int count(char **argv)
{
	int n = 0;
	while (argv[n])
		n++;
	return n;
}

static void parse(struct options *o, char **argv)
{
	struct buf t = BUF_INIT;
	enum cli_result r = cli_parse(count(argv), argv, o, &t);
	CHECK_EQ_INT(r, CLI_OK);
	if (r != CLI_OK && t.data)
		fprintf(stderr, "%s", t.data);
	buf_release(&t);
}

/* The child's argv joined by spaces. */
static char *joined(const struct options *o, pid_t child)
{
	char **v = profiling_children_argv(o, child);
	struct buf b = BUF_INIT;
	for (int i = 0; v[i]; i++)
		buf_printf(&b, "%s%s", i ? " " : "", v[i]);
	profiling_children_argv_free(v);
	return b.data;
}

#define CHECK_CHILD(o, expected)                  \
	do {                                      \
		char *got_ = joined((o), 42);     \
		CHECK_STR(got_, (expected));      \
		free(got_);                       \
	} while (0)

TEST(defaults)
{
	struct options o;
	/* pstats goes to stdout by default; a child needs a file */
	parse(&o, ARGV("attach", "7"));
	CHECK_CHILD(&o, "strobe attach 42 -r 1000 -o profile_42.pstats");
	parse(&o, ARGV("run", "--collapsed", "x.py"));
	CHECK_CHILD(&o, "strobe attach 42 -r 1000 --collapsed -o collapsed_42.txt");
	parse(&o, ARGV("run", "--binary", "--compression", "none", "x.py"));
	CHECK_CHILD(&o, "strobe attach 42 -r 1000 --binary --compression none -o binary_42.bin");
	parse(&o, ARGV("run", "--binary", "--compression", "auto", "x.py"));
	CHECK_CHILD(&o, "strobe attach 42 -r 1000 --binary -o binary_42.bin");
	/* --diff-flamegraph takes its baseline along */
	parse(&o, ARGV("run", "--diff-flamegraph", "base.bin", "x.py"));
	CHECK_CHILD(&o, "strobe attach 42 -r 1000 --diff-flamegraph base.bin -o "
			"diff_flamegraph_42.html");
	parse(&o, ARGV("attach", "--pprof", "7"));
	CHECK_CHILD(&o, "strobe attach 42 -r 1000 --pprof -o pprof_42.pb.gz");
	/* heatmap writes a directory */
	parse(&o, ARGV("run", "x.py"));
	o.format = "heatmap";
	CHECK_CHILD(&o, "strobe attach 42 -r 1000 --heatmap -o heatmap_42");
}

TEST(options)
{
	struct options o;
	parse(&o, ARGV("run", "-r", "3000", "-d", "5", "-a", "--realtime-stats", "--no-gc",
		       "--mode", "cpu", "--collapsed", "-o", "out.txt", "--subprocesses",
		       "--python", "py", "x.py", "-r", "9"));
	/* 3000 Hz is a 333 us interval: Tachyon's 1000000 // 333 */
	CHECK_CHILD(&o, "strobe attach 42 -r 3003 -d 5 -a --realtime-stats --no-gc --mode cpu "
			"--collapsed -o out_42.txt");
	parse(&o, ARGV("attach", "--mode", "exception", "-d", "-3", "7"));
	CHECK_CHILD(&o, "strobe attach 42 -r 1000 -d 0 --mode exception -o profile_42.pstats");
	parse(&o, ARGV("attach", "--native", "--mode", "gil", "-r", "10khz", "7"));
	CHECK_CHILD(&o, "strobe attach 42 -r 10000 --native --mode gil -o profile_42.pstats");
	o.opcodes = true;
	o.async_aware = true;
	o.async_mode = 1;
	CHECK_CHILD(&o, "strobe attach 42 -r 10000 --native --opcodes --async-aware --async-mode all "
			"--mode gil -o profile_42.pstats");
}

TEST(rates)
{
	struct options o;
	/* below 1 Hz Tachyon would pass "-r 0", which is refused: strobe
	 * passes a rate giving the same interval */
	parse(&o, ARGV("attach", "-r", "0.5", "7"));
	CHECK_CHILD(&o, "strobe attach 42 -r 0.5 -o profile_42.pstats");
	parse(&o, ARGV("attach", "-r", "1", "7"));
	CHECK_CHILD(&o, "strobe attach 42 -r 1 -o profile_42.pstats");
	parse(&o, ARGV("attach", "-r", "1000k", "7"));
	CHECK_CHILD(&o, "strobe attach 42 -r 1000000 -o profile_42.pstats");
	parse(&o, ARGV("attach", "-r", "7", "7"));
	CHECK_CHILD(&o, "strobe attach 42 -r 7 -o profile_42.pstats");
}

TEST(output_pattern)
{
	struct options o;
	parse(&o, ARGV("run", "--collapsed", "x.py"));
	static const char *const cases[][2] = {
		/* os.path.splitext, then "_{pid}" before the extension */
		{ "out.txt", "out_42.txt" },
		{ "out", "out_42" },
		{ "dir.d/out", "dir.d/out_42" },
		{ "/a/b/out.tar.gz", "/a/b/out_42.tar.gz" },
		{ ".hidden", ".hidden_42" },
		{ "a.b/..c.txt", "a.b/..c_42.txt" },
		{ "..", ".._42" },
		{ "out.", "out_42." },
		{ "y..z", "y._42.z" },
		{ "dir/", "dir/_42" },
		/* str.replace: every {pid}, the user's too */
		{ "a{pid}.txt", "a42_42.txt" },
		/* a compressed file keeps its extension whole (Tachyon: x.pb_42.gz) */
		{ "x.pb.gz", "x_42.pb.gz" },
		{ "x.gz", "x_42.gz" },
		{ "x.json.zst", "x_42.json.zst" },
		{ ".gz", ".gz_42" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		o.output = cases[i][0];
		char **v = profiling_children_argv(&o, 42);
		int n = 0;
		while (v[n])
			n++;
		CHECK(n >= 2 && strcmp(v[n - 2], "-o") == 0);
		if (n >= 1)
			CHECK_STR(v[n - 1], cases[i][1]);
		profiling_children_argv_free(v);
	}
	/* pstats with -o: a marshal file per child, no format flag */
	parse(&o, ARGV("run", "-o", "p.pstats", "x.py"));
	CHECK_CHILD(&o, "strobe attach 42 -r 1000 -o p_42.pstats");
}

int main(void)
{
	RUN(defaults);
	RUN(options);
	RUN(rates);
	RUN(output_pattern);
	return harness_done();
}
