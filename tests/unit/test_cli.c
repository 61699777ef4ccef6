/* test_cli.c - strobe's command line against Tachyon's (argparse) behaviour:
 * defaults, option spellings, REMAINDER, "--" command mode, rates, messages. */
#include <limits.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "harness.h"
#include "format/out.h"

/* A writable argv with "strobe" in front, NULL-terminated. */
#define ARGV(...) ((char *[]){ "strobe", __VA_ARGS__, NULL })

static int count(char **argv)
{
	int n = 0;
	while (argv[n])
		n++;
	return n;
}

static enum cli_result parse(struct options *o, struct buf *t, char **argv)
{
	return cli_parse(count(argv), argv, o, t);
}

/* The last line of t (with its newline): the "prog: error: ..." line. */
static const char *last_line(const struct buf *t)
{
	if (!t->data || t->len < 2)
		return "";
	const char *p = t->data + t->len - 2;
	while (p > t->data && p[-1] != '\n')
		p--;
	return p;
}

static bool starts_with(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static const char RATE_FORMAT_TAIL[] =
	". Expected: number followed by optional suffix (hz, khz, k) with no spaces (e.g., 10khz)";

/* ------------------------------------------------------------------ */

TEST(run_defaults)
{
	struct options o;
	struct buf t = BUF_INIT;
	char **argv = ARGV("run", "x.py");
	CHECK_EQ_INT(parse(&o, &t, argv), CLI_OK);
	CHECK_EQ_INT(o.command, CMD_RUN);
	CHECK_EQ_INT(o.interval_usec, 1000);
	CHECK_EQ_INT(o.duration_sec, -1);
	CHECK(!o.all_threads);
	CHECK(!o.realtime_stats);
	CHECK_STR(o.format, "pstats");
	CHECK(o.output == NULL);
	CHECK_EQ_INT(o.sort, SORT_NSAMPLES);
	CHECK_EQ_INT(o.limit, 15);
	CHECK(!o.sort_given && !o.limit_given && !o.no_summary);
	CHECK(!o.module && !o.command_mode);
	CHECK(o.python == NULL);
	CHECK_EQ_INT(o.argc, 1);
	CHECK(o.argv == &argv[2]);
	CHECK_STR(o.argv[0], "x.py");
	CHECK_EQ_INT(t.len, 0);
	buf_release(&t);
}

TEST(attach_defaults)
{
	struct options o;
	struct buf t = BUF_INIT;
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "1234")), CLI_OK);
	CHECK_EQ_INT(o.command, CMD_ATTACH);
	CHECK_EQ_INT(o.pid, 1234);
	CHECK_EQ_INT(o.interval_usec, 1000);
	CHECK_EQ_INT(o.duration_sec, -1);
	CHECK_STR(o.format, "pstats");
	CHECK_EQ_INT(o.argc, 0);
	buf_release(&t);
}

TEST(option_forms)
{
	struct options o;
	struct buf t = BUF_INIT;
	char **rates[] = {
		ARGV("run", "-r", "5khz", "x.py"), ARGV("run", "-r5khz", "x.py"),
		ARGV("run", "-r=5khz", "x.py"), ARGV("run", "--sampling-rate", "5khz", "x.py"),
		ARGV("run", "--sampling-rate=5khz", "x.py"), ARGV("run", "-ar5khz", "x.py"),
		ARGV("run", "-ar=5khz", "x.py"), ARGV("run", "-ar", "5khz", "x.py"),
	};
	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		CHECK_EQ_INT(parse(&o, &t, rates[i]), CLI_OK);
		CHECK_EQ_INT(o.interval_usec, 200);
		CHECK_STR(o.argv[0], "x.py");
	}

	char **durations[] = {
		ARGV("run", "-d", "30", "x.py"), ARGV("run", "-d30", "x.py"),
		ARGV("run", "-d=30", "x.py"), ARGV("run", "--duration", "30", "x.py"),
		ARGV("run", "--duration=30", "x.py"), ARGV("run", "-d", " 3_0 ", "x.py"),
		ARGV("run", "-d", "+30", "x.py"),
	};
	for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		CHECK_EQ_INT(parse(&o, &t, durations[i]), CLI_OK);
		CHECK_EQ_INT(o.duration_sec, 30);
	}

	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-o", "out.txt", "x.py")), CLI_OK);
	CHECK_STR(o.output, "out.txt");
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-oout.txt", "x.py")), CLI_OK);
	CHECK_STR(o.output, "out.txt");
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--output=out.txt", "x.py")), CLI_OK);
	CHECK_STR(o.output, "out.txt");
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--output", "-", "x.py")), CLI_OK);
	CHECK_STR(o.output, "-");
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--output=", "x.py")), CLI_OK);
	CHECK(o.output == NULL);

	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--sort", "tottime", "-l", "3", "x.py")), CLI_OK);
	CHECK_EQ_INT(o.sort, SORT_TOTTIME);
	CHECK_EQ_INT(o.limit, 3);
	CHECK(o.sort_given && o.limit_given);
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--sort=name", "--limit=7", "x.py")), CLI_OK);
	CHECK_EQ_INT(o.sort, SORT_NAME);
	CHECK_EQ_INT(o.limit, 7);
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-l-1", "x.py")), CLI_OK);
	CHECK_EQ_INT(o.limit, -1);

	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--all-threads", "--realtime-stats",
					"--no-summary", "--module", "--python=/opt/py/bin/python3",
					"mod")), CLI_OK);
	CHECK(o.all_threads && o.realtime_stats && o.no_summary && o.module);
	CHECK_STR(o.python, "/opt/py/bin/python3");
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--python", "python3.12", "x.py")), CLI_OK);
	CHECK_STR(o.python, "python3.12");

	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--collapsed", "x.py")), CLI_OK);
	CHECK_STR(o.format, "collapsed");
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--collapsed", "--collapsed", "x.py")), CLI_OK);
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--pstats", "x.py")), CLI_OK);
	CHECK_STR(o.format, "pstats");
	buf_release(&t);
}

TEST(sort_choices_follow_out_sort)
{
	static const struct { const char *name; int sort; } map[] = {
		{ "nsamples", SORT_NSAMPLES }, { "tottime", SORT_TOTTIME },
		{ "cumtime", SORT_CUMTIME }, { "sample-pct", SORT_SAMPLE_PCT },
		{ "cumul-pct", SORT_CUMUL_PCT }, { "nsamples-cumul", SORT_NSAMPLES_CUMUL },
		{ "name", SORT_NAME },
	};
	struct options o;
	struct buf t = BUF_INIT;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		char *name = (char *)map[i].name;
		CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "--sort", name, "1")), CLI_OK);
		CHECK_EQ_INT(o.sort, map[i].sort);
	}
	buf_release(&t);
}

TEST(combined_short_flags)
{
	struct options o;
	struct buf t = BUF_INIT;
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-am", "mod")), CLI_OK);
	CHECK(o.all_threads && o.module);
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-amr", "5", "mod")), CLI_OK);
	CHECK(o.all_threads && o.module);
	CHECK_EQ_INT(o.interval_usec, 200000);

	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-ax", "x.py")), CLI_USAGE);
	CHECK_STR(last_line(&t), "strobe: error: unrecognized arguments: -x\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-axr5", "x.py")), CLI_USAGE);
	CHECK_STR(last_line(&t), "strobe: error: unrecognized arguments: -xr5\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-a=1", "x.py")), CLI_USAGE);
	CHECK_STR(last_line(&t),
		  "strobe run: error: argument -a/--all-threads: ignored explicit argument '1'\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-am=1", "x.py")), CLI_USAGE);
	CHECK_STR(last_line(&t),
		  "strobe run: error: argument -m/--module: ignored explicit argument '1'\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--realtime-stats=yes", "x.py")), CLI_USAGE);
	CHECK_STR(last_line(&t),
		  "strobe run: error: argument --realtime-stats: ignored explicit argument 'yes'\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--pstats=", "x.py")), CLI_USAGE);
	CHECK_STR(last_line(&t),
		  "strobe run: error: argument --pstats: ignored explicit argument ''\n");
	buf_release(&t);
}

TEST(options_in_any_order)
{
	struct options o;
	struct buf t = BUF_INIT;
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--no-summary", "-r", "100", "-a", "--sort",
					"cumtime", "-d", "2", "x.py", "arg")), CLI_OK);
	CHECK(o.no_summary && o.all_threads);
	CHECK_EQ_INT(o.interval_usec, 10000);
	CHECK_EQ_INT(o.sort, SORT_CUMTIME);
	CHECK_EQ_INT(o.duration_sec, 2);
	CHECK_EQ_INT(o.argc, 2);
	/* attach: options may follow the pid too */
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "42", "-a", "--collapsed", "-o", "f.txt")),
		     CLI_OK);
	CHECK_EQ_INT(o.pid, 42);
	CHECK(o.all_threads);
	CHECK_STR(o.format, "collapsed");
	CHECK_STR(o.output, "f.txt");
	/* a later value wins, as in argparse */
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "-r", "1", "-r", "2", "1")), CLI_OK);
	CHECK_EQ_INT(o.interval_usec, 500000);
	buf_release(&t);
}

TEST(remainder)
{
	struct options o;
	struct buf t = BUF_INIT;
	char **argv = ARGV("run", "script.py", "-r", "5", "--bogus", "-h");
	CHECK_EQ_INT(parse(&o, &t, argv), CLI_OK);
	CHECK_EQ_INT(o.interval_usec, 1000);
	CHECK_EQ_INT(o.argc, 5);
	CHECK(o.argv == &argv[2]);
	CHECK_STR(o.argv[0], "script.py");
	CHECK_STR(o.argv[1], "-r");
	CHECK_STR(o.argv[2], "5");
	CHECK_STR(o.argv[3], "--bogus");
	CHECK_STR(o.argv[4], "-h");

	argv = ARGV("run", "-m", "http.server", "--collapsed", "8000");
	CHECK_EQ_INT(parse(&o, &t, argv), CLI_OK);
	CHECK(o.module);
	CHECK_STR(o.format, "pstats");
	CHECK_EQ_INT(o.argc, 3);
	CHECK_STR(o.argv[0], "http.server");
	CHECK_STR(o.argv[1], "--collapsed");

	/* Tachyon (argparse) drops one "--" right after the target */
	argv = ARGV("run", "x.py", "--", "a");
	CHECK_EQ_INT(parse(&o, &t, argv), CLI_OK);
	CHECK(!o.command_mode);
	CHECK_EQ_INT(o.argc, 2);
	CHECK_STR(o.argv[0], "x.py");
	CHECK_STR(o.argv[1], "a");
	argv = ARGV("run", "x.py", "--", "--", "a");
	CHECK_EQ_INT(parse(&o, &t, argv), CLI_OK);
	CHECK_EQ_INT(o.argc, 3);
	CHECK_STR(o.argv[1], "--");
	argv = ARGV("run", "x.py", "a", "--");
	CHECK_EQ_INT(parse(&o, &t, argv), CLI_OK);
	CHECK_EQ_INT(o.argc, 3);
	CHECK_STR(o.argv[2], "--");
	/* "-" and things with spaces are positionals, negative numbers too */
	argv = ARGV("run", "-");
	CHECK_EQ_INT(parse(&o, &t, argv), CLI_OK);
	CHECK_STR(o.argv[0], "-");
	argv = ARGV("run", "-x y");
	CHECK_EQ_INT(parse(&o, &t, argv), CLI_OK);
	CHECK_STR(o.argv[0], "-x y");
	buf_release(&t);
}

TEST(command_mode)
{
	struct options o;
	struct buf t = BUF_INIT;
	char **argv = ARGV("run", "-a", "-r", "10", "--", "python3", "-X", "dev", "s.py", "-r", "5");
	CHECK_EQ_INT(parse(&o, &t, argv), CLI_OK);
	CHECK(o.command_mode);
	CHECK(!o.module);
	CHECK(o.all_threads);
	CHECK_EQ_INT(o.interval_usec, 100000);
	CHECK_EQ_INT(o.argc, 6);
	CHECK(o.argv == &argv[6]);
	CHECK_STR(o.argv[0], "python3");
	CHECK_STR(o.argv[5], "5");

	argv = ARGV("run", "--", "-m");
	CHECK_EQ_INT(parse(&o, &t, argv), CLI_OK);
	CHECK(o.command_mode && !o.module);
	CHECK_STR(o.argv[0], "-m");

	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-m", "--", "x")), CLI_USAGE);
	CHECK(starts_with(t.data, "usage: strobe run [-h] [-m]"));
	CHECK_STR(last_line(&t),
		  "strobe run: error: argument -m/--module: not allowed with argument --\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--python", "p", "--", "x")), CLI_USAGE);
	CHECK_STR(last_line(&t),
		  "strobe run: error: argument --python: not allowed with argument --\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-a", "--")), CLI_USAGE);
	CHECK_STR(last_line(&t),
		  "strobe run: error: the following arguments are required: command\n");
	buf_release(&t);
}

struct rate_case {
	const char *in;
	uint64_t usec;    /* 0: an error */
	const char *msg;  /* the error message */
};

TEST(rates)
{
	static const struct rate_case cases[] = {
		{ "1khz", 1000, NULL },
		{ "1KHZ", 1000, NULL },
		{ "  1khz\t", 1000, NULL },
		{ "10khz", 100, NULL },
		{ "10k", 100, NULL },
		{ "10000", 100, NULL },
		{ "10000hz", 100, NULL },
		{ "3khz", 333, NULL },
		{ "7", 142857, NULL },
		{ "1.5k", 666, NULL },
		{ "0.5", 2000000, NULL },
		{ "0.3k", 3333, NULL },
		{ "999999", 1, NULL },
		{ "1000khz", 1, NULL },
		{ "1000000", 1, NULL },
		{ "0.000001", 1000000000000, NULL },
		{ "0.0000000001", CLI_MAX_INTERVAL_USEC, NULL },
		{ "1000001", 0, "Sampling rate too high: 1000001" },
		{ "1000.001khz", 0, "Sampling rate too high: 1000.001khz" },
		{ "1e400", 0, "Invalid sampling rate format: 1e400" },
		{ "0", 0, "Sampling rate must be positive: 0" },
		{ "0.0hz", 0, "Sampling rate must be positive: 0.0hz" },
		{ " 0K ", 0, "Sampling rate must be positive: 0k" },
		{ "2mhz", 0, "Invalid sampling rate format: 2mhz" },
		{ "abc", 0, "Invalid sampling rate format: abc" },
		{ "10 khz", 0, "Invalid sampling rate format: 10 khz" },
		{ " 10 KHz ", 0, "Invalid sampling rate format: 10 khz" },
		{ "-5", 0, "Invalid sampling rate format: -5" },
		{ "+5", 0, "Invalid sampling rate format: +5" },
		{ ".5", 0, "Invalid sampling rate format: .5" },
		{ "5.", 0, "Invalid sampling rate format: 5." },
		{ "1e3", 0, "Invalid sampling rate format: 1e3" },
		{ "5hzz", 0, "Invalid sampling rate format: 5hzz" },
		{ "khz", 0, "Invalid sampling rate format: khz" },
		{ "", 0, "Invalid sampling rate format: " },
	};
	struct buf err = BUF_INIT, want = BUF_INIT;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct rate_case *c = &cases[i];
		uint64_t usec = 0;
		buf_reset(&err);
		int rc = cli_parse_rate(c->in, &usec, &err);
		if (c->usec) {
			CHECK_EQ_INT(rc, 0);
			CHECK_EQ_INT(usec, c->usec);
			if (usec != c->usec)
				fprintf(stderr, "  rate %s\n", c->in);
			continue;
		}
		CHECK_EQ_INT(rc, -1);
		buf_reset(&want);
		buf_puts(&want, c->msg);
		if (starts_with(c->msg, "Invalid"))
			buf_puts(&want, RATE_FORMAT_TAIL);
		CHECK_STR(err.data, want.data);
	}
	buf_release(&err);
	buf_release(&want);
}

/* strobe sets LC_ALL from the environment (Tachyon does, for number
 * grouping); "1.5k" must not become 1k where the decimal point is ','. */
TEST(rate_ignores_locale)
{
	static const char *const comma_locales[] = {
		"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", "nl_NL.UTF-8", NULL,
	};
	const char *set = NULL;
	for (const char *const *l = comma_locales; *l && !set; l++)
		set = setlocale(LC_NUMERIC, *l);
	if (!set)
		return; /* no such locale installed here */
	uint64_t usec = 0;
	struct buf err = BUF_INIT;
	CHECK_EQ_INT(cli_parse_rate("1.5k", &usec, &err), 0);
	CHECK_EQ_INT(usec, 666);
	setlocale(LC_NUMERIC, "C");
	buf_release(&err);
}

TEST(rate_errors_are_argparse_errors)
{
	struct options o;
	struct buf t = BUF_INIT;
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-r", "2mhz", "x.py")), CLI_USAGE);
	CHECK(starts_with(t.data, "usage: strobe run [-h] [-m] [--live] [--python PATH] [-r RATE]"));
	CHECK_STR(last_line(&t),
		  "strobe run: error: argument -r/--sampling-rate: Invalid sampling rate format: "
		  "2mhz. Expected: number followed by optional suffix (hz, khz, k) with no "
		  "spaces (e.g., 10khz)\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "--sampling-rate=1000001", "1")), CLI_USAGE);
	CHECK(starts_with(t.data, "usage: strobe attach [-h] [--live] [-r RATE]"));
	CHECK_STR(last_line(&t),
		  "strobe attach: error: argument -r/--sampling-rate: Sampling rate too high: "
		  "1000001\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-r0", "x.py")), CLI_USAGE);
	CHECK_STR(last_line(&t),
		  "strobe run: error: argument -r/--sampling-rate: Sampling rate must be "
		  "positive: 0\n");
	/* "-5" looks like a negative number, so it is -r's value */
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-r", "-5", "x.py")), CLI_USAGE);
	CHECK(starts_with(last_line(&t), "strobe run: error: argument -r/--sampling-rate: "
					 "Invalid sampling rate format: -5. Expected"));
	buf_release(&t);
}

TEST(int_options)
{
	struct options o;
	struct buf t = BUF_INIT;
	/* strobe takes fractions of a second (Tachyon whole seconds only) */
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-d", "0.5", "x.py")), CLI_OK);
	CHECK(o.duration_sec == 0.5);
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-d", " 1_0.25 ", "x.py")), CLI_OK);
	CHECK(o.duration_sec == 10.25);
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-d", "2e-1", "x.py")), CLI_OK);
	CHECK(o.duration_sec == 0.2);
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-d", "1e400", "x.py")), CLI_USAGE);
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-d", "nan", "x.py")), CLI_USAGE);
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-d", "1._5", "x.py")), CLI_USAGE);
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-d", "x.py")), CLI_USAGE);
	CHECK_STR(last_line(&t),
		  "strobe run: error: argument -d/--duration: invalid float value: 'x.py'\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-d", "1__0", "x.py")), CLI_USAGE);
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-d", "_1", "x.py")), CLI_USAGE);
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-d", "", "x.py")), CLI_USAGE);
	CHECK_STR(last_line(&t),
		  "strobe run: error: argument -d/--duration: invalid float value: ''\n");
	/* the value as Python's repr() shows it: argv is decoded with
	 * surrogateescape, and characters that are not printable escaped */
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-d", "it's\xc2\xa0\x1b\xff", "x.py")), CLI_USAGE);
	CHECK_STR(last_line(&t), "strobe run: error: argument -d/--duration: invalid float value: "
				 "\"it's\\xa0\\x1b\\udcff\"\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-l", "5.0", "x.py")), CLI_USAGE);
	CHECK_STR(last_line(&t),
		  "strobe run: error: argument -l/--limit: invalid int value: '5.0'\n");
	/* durations <= 0 sample nothing in Tachyon; -1 stays "no duration" */
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-d", "0", "x.py")), CLI_OK);
	CHECK_EQ_INT(o.duration_sec, 0);
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-d", "-5", "x.py")), CLI_OK);
	CHECK_EQ_INT(o.duration_sec, 0);
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-d", "99999999999999999999999", "x.py")),
		     CLI_OK);
	CHECK(o.duration_sec == CLI_MAX_DURATION_SEC);
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-d", "007", "x.py")), CLI_OK);
	CHECK_EQ_INT(o.duration_sec, 7);
	/* missing values */
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-r")), CLI_USAGE);
	CHECK_STR(last_line(&t),
		  "strobe run: error: argument -r/--sampling-rate: expected one argument\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-o", "-foo", "x.py")), CLI_USAGE);
	CHECK_STR(last_line(&t), "strobe run: error: argument -o/--output: expected one argument\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-o", "--", "x.py")), CLI_USAGE);
	CHECK_STR(last_line(&t), "strobe run: error: argument -o/--output: expected one argument\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--sort", "-a", "x.py")), CLI_USAGE);
	CHECK_STR(last_line(&t), "strobe run: error: argument --sort: expected one argument\n");
	buf_release(&t);
}

TEST(sort_choices)
{
	struct options o;
	struct buf t = BUF_INIT;
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--sort", "bad", "x.py")), CLI_USAGE);
	CHECK_STR(last_line(&t),
		  "strobe run: error: argument --sort: invalid choice: 'bad' (choose from "
		  "'nsamples', 'tottime', 'cumtime', 'sample-pct', 'cumul-pct', "
		  "'nsamples-cumul', 'name')\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--sort", "nsample", "x.py")), CLI_USAGE);
	CHECK_STR(last_line(&t),
		  "strobe run: error: argument --sort: invalid choice: 'nsample', maybe you "
		  "meant 'nsamples'? (choose from 'nsamples', 'tottime', 'cumtime', "
		  "'sample-pct', 'cumul-pct', 'nsamples-cumul', 'name')\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--sort=tot", "x.py")), CLI_USAGE);
	CHECK(strstr(last_line(&t), "invalid choice: 'tot', maybe you meant 'tottime'? ("));
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--sort", "NAME", "x.py")), CLI_USAGE);
	buf_release(&t);
}

TEST(exclusive_formats)
{
	struct options o;
	struct buf t = BUF_INIT;
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--pstats", "--collapsed", "x.py")), CLI_USAGE);
	CHECK(starts_with(t.data, "usage: strobe run "));
	CHECK_STR(last_line(&t),
		  "strobe run: error: argument --collapsed: not allowed with argument --pstats\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "--collapsed", "1", "--pstats")), CLI_USAGE);
	CHECK_STR(last_line(&t),
		  "strobe attach: error: argument --pstats: not allowed with argument --collapsed\n");
	buf_release(&t);
}

TEST(modes)
{
	struct options o;
	struct buf t = BUF_INIT;
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "1")), CLI_OK);
	CHECK_EQ_INT(o.mode, MODE_WALL);
	CHECK(!o.native && !o.no_gc);
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "--mode", "cpu", "--native", "--no-gc", "1")), CLI_OK);
	CHECK_EQ_INT(o.mode, MODE_CPU);
	CHECK(o.native && o.no_gc);
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "--mode=gil", "1")), CLI_OK);
	CHECK_EQ_INT(o.mode, MODE_GIL);
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "--mode", "exception", "1")), CLI_OK);
	CHECK_EQ_INT(o.mode, MODE_EXCEPTION);
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "--mode", "all", "1")), CLI_USAGE);
	CHECK(strstr(t.data, "argument --mode: invalid choice: 'all', maybe you meant 'wall'? (choose from 'wall', 'cpu', "
			     "'gil', 'exception')\n") != NULL);
	buf_release(&t);
}

TEST(issue6_options)
{
	struct options o;
	struct buf t = BUF_INIT;
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "--async-aware", "--async-mode", "all", "1")), CLI_OK);
	CHECK(o.async_aware && o.async_mode == 1);
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "--async-aware", "--native", "--no-gc", "-a",
					"--mode", "cpu", "1")), CLI_USAGE);
	CHECK_STR(last_line(&t), "strobe: error: Options --native, --no-gc, --mode=cpu, "
				 "--all-threads are incompatible with --async-aware. Async-aware "
				 "profiling uses task-based stack reconstruction.\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "--async-aware", "--binary", "1")), CLI_USAGE);
	CHECK(strstr(t.data, "Options --binary are incompatible with --async-aware.") != NULL);
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "--async-mode", "all", "1")), CLI_USAGE);
	CHECK_STR(last_line(&t), "strobe: error: --async-mode requires --async-aware to be enabled.\n");
	/* run/attach: an explicit "running" is the default, so allowed */
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "--async-mode", "running", "1")), CLI_OK);
	/* dump: any explicit --async-mode needs --async-aware */
	CHECK_EQ_INT(parse(&o, &t, ARGV("dump", "--async-mode", "running", "1")), CLI_USAGE);
	CHECK_EQ_INT(parse(&o, &t, ARGV("dump", "-a", "--native", "--no-gc", "--opcodes",
					"--blocking", "1")), CLI_OK);
	CHECK(o.all_threads && o.native && o.no_gc && o.opcodes && o.blocking && o.pid == 1);
	CHECK_EQ_INT(parse(&o, &t, ARGV("dump", "--subprocesses", "1")), CLI_USAGE);
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "--opcodes", "1")), CLI_USAGE);
	/* Tachyon's list, of the formats this build has; --live first */
	CHECK(starts_with(last_line(&t), "strobe: error: --opcodes is only compatible with --live, "));
	CHECK(strstr(last_line(&t), "--binary.\n"));
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "--opcodes", "--binary", "1")), CLI_OK);
	/* gecko samples every status: any other --mode is refused, wall is fine */
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--gecko", "--mode", "cpu", "x.py")), CLI_USAGE);
	CHECK_STR(last_line(&t), "strobe: error: --mode option is incompatible with --gecko. Gecko "
		  "format automatically includes both GIL-holding and CPU status analysis.\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--gecko", "--mode", "wall", "x.py")), CLI_OK);
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--gecko", "--opcodes", "x.py")), CLI_OK);
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--subprocesses", "--blocking", "x.py")), CLI_OK);
	CHECK(o.subprocesses && o.blocking);
	CHECK_EQ_INT(parse(&o, &t, ARGV("dump", "--help")), CLI_HELP);
	CHECK(strstr(t.data, "\nDump options:\n  -a, --all-threads     Dump all threads") != NULL);
	buf_release(&t);
}

/* Tachyon's --live checks: other formats and pstats options are refused;
 * --opcodes is fine with it, --subprocesses is not. */
TEST(live_options)
{
	struct options o;
	struct buf t = BUF_INIT;
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "--live", "1")), CLI_OK);
	CHECK(o.live && o.live_available && o.pid == 1);
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--live", "--opcodes", "x.py")), CLI_OK);
	CHECK(o.live && o.opcodes);
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--live", "--binary", "x.py")), CLI_USAGE);
	CHECK_STR(t.data, "usage: strobe [-h] [--version] {run,attach,dump,replay} ...\n"
			  "strobe: error: --live is incompatible with --binary. Live mode uses a TUI "
			  "interface.\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "--live", "--sort", "name", "-l", "3",
					"--no-summary", "1")), CLI_USAGE);
	CHECK_STR(last_line(&t), "strobe: error: Options --sort, --limit, --no-summary are "
		  "incompatible with --live. Live mode uses a TUI interface with its own controls.\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "--live", "-l", "3", "1")), CLI_USAGE);
	CHECK_STR(last_line(&t), "strobe: error: Options --limit are incompatible with --live. "
		  "Live mode uses a TUI interface with its own controls.\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "--live", "--subprocesses", "1")), CLI_USAGE);
	CHECK_STR(last_line(&t), "strobe: error: --subprocesses is incompatible with --live mode.\n");
	/* dump and replay have no --live */
	CHECK_EQ_INT(parse(&o, &t, ARGV("dump", "--live", "1")), CLI_USAGE);
	CHECK_EQ_INT(parse(&o, &t, ARGV("replay", "--live", "f.bin")), CLI_USAGE);
	buf_release(&t);
}

TEST(binary_and_replay)
{
	struct options o;
	struct buf t = BUF_INIT;
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "--binary", "1234")), CLI_OK);
	CHECK_STR(o.format, "binary");
	CHECK_EQ_INT(o.compression, COMPRESSION_AUTO);
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--binary", "--compression", "none", "x.py")), CLI_OK);
	CHECK_EQ_INT(o.compression, COMPRESSION_NONE);
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--compression=zstd", "x.py")), CLI_OK);
	CHECK_EQ_INT(o.compression, COMPRESSION_ZSTD);
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--compression", "lz4", "x.py")), CLI_USAGE);
	CHECK(strstr(t.data, "argument --compression: invalid choice: 'lz4' (choose from 'auto', "
			     "'zstd', 'none')\n") != NULL);
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "--binary", "--collapsed", "1")), CLI_USAGE);
	CHECK(strstr(t.data, "argument --collapsed: not allowed with argument --binary\n") != NULL);

	CHECK_EQ_INT(parse(&o, &t, ARGV("replay", "--collapsed", "-o", "x.txt", "p.bin")), CLI_OK);
	CHECK_EQ_INT(o.command, CMD_REPLAY);
	CHECK_STR(o.input, "p.bin");
	CHECK_STR(o.format, "collapsed");
	CHECK_STR(o.output, "x.txt");
	CHECK_EQ_INT(parse(&o, &t, ARGV("replay", "--binary", "p.bin")), CLI_USAGE);
	CHECK_EQ_INT(parse(&o, &t, ARGV("replay", "-r", "5k", "p.bin")), CLI_USAGE);
	CHECK_EQ_INT(parse(&o, &t, ARGV("replay")), CLI_USAGE);
	CHECK(strstr(t.data, "strobe replay: error: the following arguments are required: input_file\n"));
	CHECK_EQ_INT(parse(&o, &t, ARGV("replay", "--sort", "name", "-l", "3", "p.bin")), CLI_OK);
	CHECK_EQ_INT(o.limit, 3);
	buf_release(&t);
}

TEST(pstats_only_options)
{
	struct options o;
	struct buf t = BUF_INIT;
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--collapsed", "--sort", "name", "x.py")),
		     CLI_USAGE);
	CHECK_STR(t.data,
		  "usage: strobe [-h] [--version] {run,attach,dump,replay} ...\n"
		  "strobe: error: Options --sort are only valid with --pstats, not --collapsed\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "1", "--no-summary", "-l", "3", "--sort",
					"name", "--collapsed")), CLI_USAGE);
	CHECK_STR(last_line(&t),
		  "strobe: error: Options --sort, --limit, --no-summary are only valid with "
		  "--pstats, not --collapsed\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--collapsed", "-l", "3", "x.py")), CLI_USAGE);
	CHECK_STR(last_line(&t),
		  "strobe: error: Options --limit are only valid with --pstats, not --collapsed\n");
	/* with pstats they are fine */
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--pstats", "--sort", "name", "-l", "3",
					"--no-summary", "x.py")), CLI_OK);
	buf_release(&t);
}

TEST(attach_pid)
{
	struct options o;
	struct buf t = BUF_INIT;
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "abc")), CLI_USAGE);
	CHECK(starts_with(t.data, "usage: strobe attach [-h]"));
	CHECK_STR(last_line(&t), "strobe attach: error: argument pid: invalid int value: 'abc'\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "a'b")), CLI_USAGE);
	CHECK_STR(last_line(&t), "strobe attach: error: argument pid: invalid int value: \"a'b\"\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "a\"b'")), CLI_USAGE);
	CHECK_STR(last_line(&t),
		  "strobe attach: error: argument pid: invalid int value: 'a\"b\\''\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "a\tb")), CLI_USAGE);
	CHECK_STR(last_line(&t), "strobe attach: error: argument pid: invalid int value: 'a\\tb'\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "12.0")), CLI_USAGE);
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "99999999999999999999")), CLI_USAGE);
	CHECK_STR(last_line(&t), "strobe attach: error: argument pid: invalid int value: "
				 "'99999999999999999999'\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach")), CLI_USAGE);
	CHECK_STR(last_line(&t), "strobe attach: error: the following arguments are required: pid\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "12", "34")), CLI_USAGE);
	CHECK_STR(last_line(&t), "strobe: error: unrecognized arguments: 34\n");

	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", " 1_2 ")), CLI_OK);
	CHECK_EQ_INT(o.pid, 12);
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "--", "12")), CLI_OK);
	CHECK_EQ_INT(o.pid, 12);
	/* argparse takes "-5" as a number; Tachyon then says no such process */
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "-5")), CLI_OK);
	CHECK_EQ_INT(o.pid, -5);
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "0")), CLI_OK);
	CHECK_EQ_INT(o.pid, 0);
	buf_release(&t);
}

TEST(engine)
{
	struct options o;
	struct buf t = BUF_INIT;
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "1")), CLI_OK);
	CHECK_EQ_INT(o.engine, ENGINE_READER);
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "--engine", "bpf", "--mode", "cpu", "1")), CLI_OK);
	CHECK_EQ_INT(o.engine, ENGINE_BPF);
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--engine=auto", "x.py")), CLI_OK);
	CHECK_EQ_INT(o.engine, ENGINE_AUTO);
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "--engine", "kernel", "1")), CLI_USAGE);
	CHECK(strstr(t.data, "argument --engine: invalid choice: 'kernel'"));
	/* bpf: every mode, not with what needs the reader's loop */
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "--engine", "bpf", "1")), CLI_OK);
	CHECK_EQ_INT(o.mode, MODE_WALL);
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "--engine", "bpf", "--mode", "exception", "1")),
		     CLI_OK);
	CHECK_EQ_INT(o.mode, MODE_EXCEPTION);
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "--engine", "bpf", "--mode", "gil", "1")), CLI_OK);
	CHECK_EQ_INT(o.mode, MODE_GIL);
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "--engine", "bpf", "--mode", "cpu", "--blocking",
					"1")), CLI_USAGE);
	CHECK(strstr(t.data, "error: --engine bpf does not support --blocking yet"));
	/* auto takes the reader for those, at run time */
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "--engine", "auto", "--mode", "gil", "1")), CLI_OK);
	buf_release(&t);
}

TEST(help)
{
	struct options o;
	struct buf t = BUF_INIT;
	CHECK_EQ_INT(parse(&o, &t, ARGV("--help")), CLI_HELP);
	CHECK(starts_with(t.data, "usage: strobe [-h] [--version] {run,attach,dump,replay} ...\n\n"
				  "Sample a process's stack frames and generate profiling data.\n"));
	CHECK(strstr(t.data, "\npositional arguments:\n  {run,attach,dump,replay}\n"
			     "                        Command to run\n"
			     "    run                 Run and profile a script or module\n"));
	CHECK_EQ_INT(parse(&o, &t, ARGV("-h", "run")), CLI_HELP);
	CHECK(starts_with(t.data, "usage: strobe [-h]"));

	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--help")), CLI_HELP);
	CHECK(starts_with(t.data, "usage: strobe run [-h] [-m] [--live] [--python PATH] [-r RATE] "
				  "[-d SECONDS]\n"
				  "                  [-a] [--realtime-stats] [--native] [--native-stacks]\n"
				  "                  [--native-plumbing] [--no-gc] [--opcodes] [--async-aware]\n"
				  "                  [--subprocesses] [--blocking] [--engine {reader,bpf,auto}]\n"
				  "                  [--mode {wall,cpu,gil,exception}]\n"
				  "                  [--async-mode {running,all}] [--pstats | --collapsed |\n"));
	CHECK(strstr(t.data, "  --live                Interactive TUI profiler (top-like interface, press\n"
			     "                        'q' to quit, 's' to cycle sort) (default: False)\n"));
	CHECK(strstr(t.data, "\n                  target ...\n"
			     "   or: strobe run [options] -- command ...\n\n"
			     "Run and profile a Python script or module\n"));
	CHECK(strstr(t.data, "`strobe run -r 5khz -d 30 script.py`"));
	CHECK(strstr(t.data, "\nSampling configuration:\n"
			     "  -r, --sampling-rate RATE\n"
			     "                        sampling rate (e.g., 10000, 10khz, 10k) "
			     "(default:\n"
			     "                        1khz)\n"
			     "  -d, --duration SECONDS\n"
			     "                        Sampling duration (default: run to "
			     "completion)\n"
			     "                        (default: None)\n"));
	CHECK(strstr(t.data, "\nOutput options:\n"
			     "  --pstats              Generate pstats output (default) "
			     "(default: pstats)\n"));
	CHECK(strstr(t.data, "\npstats format options:\n"
			     "  --sort {nsamples,tottime,cumtime,sample-pct,cumul-pct,"
			     "nsamples-cumul,name}\n"));
	CHECK(strstr(t.data, "  -m, --module          Run target as a module (like `python -m`)"
			     " (default:\n                        False)\n"));
	CHECK(strstr(t.data, "  --python PATH"));
	CHECK(strstr(t.data, "  -- command ...  "));
	/* argparse width: 78 columns, except the unbreakable --sort choices */
	for (const char *line = t.data; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		if (len > 78 && !memmem(line, len, "{nsamples", 9)) {
			CHECK(len <= 78);
			fprintf(stderr, "  long line: %.*s\n", (int)len, line);
		}
		line += len + (nl ? 1 : 0);
	}
	CHECK(t.data[t.len - 1] == '\n' && t.data[t.len - 2] != '\n');

	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "-h")), CLI_HELP);
	CHECK(starts_with(t.data, "usage: strobe attach [-h] [--live] [-r RATE]"));
	CHECK(strstr(t.data, "  pid                   Process ID to attach to\n"));
	CHECK(strstr(t.data, "`strobe attach -a --sort tottime 1234`"));
	CHECK(!strstr(t.data, "--python"));
	CHECK(!strstr(t.data, "--module"));

	/* argparse acts in order: help before a later error, after an earlier one */
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-h", "--bogus", "-r", "bad")), CLI_HELP);
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--bogus", "-h")), CLI_HELP);
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-ah", "x.py")), CLI_HELP);
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "-r", "bad", "-h")), CLI_USAGE);
	/* after the target, -h belongs to the script */
	char **argv = ARGV("run", "x.py", "-h");
	CHECK_EQ_INT(parse(&o, &t, argv), CLI_OK);
	CHECK_STR(o.argv[1], "-h");
	buf_release(&t);
}

/* cli_describe: the table the man page and completions are generated from */
TEST(describe)
{
	struct buf b = BUF_INIT;
	cli_describe(&b);
	CHECK(starts_with(b.data, "strobe-cli 1\nversion\t"));
	CHECK(strstr(b.data, "\ncommand\tattach\tAttach to and profile a running process\n"));
	CHECK(strstr(b.data, "\npositional\treplay\tinput_file\tBinary profile file to replay\n"));
	CHECK(strstr(b.data, "\noption\t-\t-\t--version\t-\t-\toptions\t-\t"));
	CHECK(strstr(b.data, "\noption\tattach\t-\t--mode\t-\twall,cpu,gil,exception\tMode "
			     "options\twall\tSampling mode: "));
	CHECK(strstr(b.data, "\noption\trun\t-r\t--sampling-rate\tRATE\t-\t"));
	CHECK(strstr(b.data, "\noption\tdump\t-\t--locals\t-\t-\tDump options\tFalse\t"));
	/* dump has no --mode; replay no --sampling-rate */
	CHECK(!strstr(b.data, "\noption\tdump\t-\t--mode\t"));
	CHECK(!strstr(b.data, "\noption\treplay\t-r\t"));
	/* every record is one line of tab-separated fields with no empty one */
	for (const char *l = b.data; *l;) {
		const char *e = strchr(l, '\n');
		CHECK(e != NULL);
		if (!e)
			break;
		CHECK(e > l);
		for (const char *c = l; c < e; c++)
			CHECK(!(c[0] == '\t' && (c[1] == '\t' || c + 1 == e)));
		l = e + 1;
	}
	buf_release(&b);
}

TEST(version)
{
	struct options o;
	struct buf t = BUF_INIT;
	CHECK_EQ_INT(parse(&o, &t, ARGV("--version")), CLI_VERSION);
	CHECK(starts_with(t.data, "strobe "));
	CHECK(t.len > 8 && strchr(t.data, '\n') == t.data + t.len - 1);
	CHECK_EQ_INT(parse(&o, &t, ARGV("--version", "run", "x.py")), CLI_VERSION);
	CHECK(starts_with(t.data, "strobe "));
	/* only the top level has --version */
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--version", "x.py")), CLI_USAGE);
	CHECK_STR(last_line(&t), "strobe: error: unrecognized arguments: --version\n");
	buf_release(&t);
}

TEST(subcommand_errors)
{
	struct options o;
	struct buf t = BUF_INIT;
	CHECK_EQ_INT(parse(&o, &t, (char *[]){ "strobe", NULL }), CLI_USAGE);
	CHECK_STR(t.data, "usage: strobe [-h] [--version] {run,attach,dump,replay} ...\n"
			  "strobe: error: the following arguments are required: command\n");
	CHECK_EQ_INT(o.command, CMD_NONE);
	CHECK_EQ_INT(parse(&o, &t, ARGV("foo")), CLI_USAGE);
	CHECK_STR(last_line(&t), "strobe: error: argument command: invalid choice: 'foo' "
				 "(choose from 'run', 'attach', 'dump', 'replay')\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("rn", "x.py")), CLI_USAGE);
	CHECK_STR(last_line(&t), "strobe: error: argument command: invalid choice: 'rn', maybe "
				 "you meant 'run'? (choose from 'run', 'attach', 'dump', 'replay')\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("dump", "1")), CLI_OK);
	CHECK_EQ_INT(o.command, CMD_DUMP);
	CHECK_EQ_INT(parse(&o, &t, ARGV("dmp", "1")), CLI_USAGE);
	CHECK_EQ_INT(parse(&o, &t, ARGV("-x")), CLI_USAGE);
	CHECK_STR(last_line(&t), "strobe: error: the following arguments are required: command\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("-x", "run", "x.py")), CLI_USAGE);
	CHECK_STR(last_line(&t), "strobe: error: unrecognized arguments: -x\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("--", "run", "x.py")), CLI_OK);
	CHECK_EQ_INT(o.command, CMD_RUN);
	buf_release(&t);
}

TEST(unknown_options)
{
	struct options o;
	struct buf t = BUF_INIT;
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--bogus", "x.py")), CLI_USAGE);
	CHECK_STR(t.data, "usage: strobe [-h] [--version] {run,attach,dump,replay} ...\n"
			  "strobe: error: unrecognized arguments: --bogus\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("-y", "run", "--bogus=1", "-x", "x.py")), CLI_USAGE);
	CHECK_STR(last_line(&t), "strobe: error: unrecognized arguments: -y --bogus=1 -x\n");
	/* required arguments are checked first */
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--bogus")), CLI_USAGE);
	CHECK_STR(last_line(&t),
		  "strobe run: error: the following arguments are required: target\n");
	/* no abbreviations, and no options of other profilers */
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--sampling-rat", "5", "x.py")), CLI_USAGE);
	CHECK_STR(last_line(&t), "strobe: error: unrecognized arguments: --sampling-rat\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--flame", "x.py")), CLI_USAGE);
	CHECK_EQ_INT(parse(&o, &t, ARGV("run", "--idle", "x.py")), CLI_USAGE);
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "-m", "1")), CLI_USAGE);
	CHECK_STR(last_line(&t), "strobe: error: unrecognized arguments: -m\n");
	CHECK_EQ_INT(parse(&o, &t, ARGV("attach", "--python", "p", "1")), CLI_USAGE);
	buf_release(&t);
}

int main(void)
{
	RUN(run_defaults);
	RUN(attach_defaults);
	RUN(option_forms);
	RUN(sort_choices_follow_out_sort);
	RUN(combined_short_flags);
	RUN(options_in_any_order);
	RUN(remainder);
	RUN(command_mode);
	RUN(rates);
	RUN(rate_ignores_locale);
	RUN(rate_errors_are_argparse_errors);
	RUN(int_options);
	RUN(sort_choices);
	RUN(exclusive_formats);
	RUN(modes);
	RUN(issue6_options);
	RUN(live_options);
	RUN(binary_and_replay);
	RUN(pstats_only_options);
	RUN(attach_pid);
	RUN(engine);
	RUN(help);
	RUN(version);
	RUN(describe);
	RUN(subcommand_errors);
	RUN(unknown_options);
	return harness_done();
}
