/* test_pstats.c - the pstats writer against Tachyon's own output.
 *
 * Every expected text below was produced by CPython 3.15.2's
 * profiling.sampling.pstats_collector.PstatsCollector fed the same stacks
 * (as _remote_debugging FrameInfo/ThreadInfo/InterpreterInfo) in the same
 * order, then print_stats(sort, limit, show_summary, mode) with
 * PYTHON_COLORS=0 (or 1 for the colour case).  The stack tables were
 * emitted by the same script so both sides see identical input.
 * One departure: Tachyon prints names raw, strobe shows their control
 * characters and backslashes escaped (base/utf8.h, utf8_term_escape), so
 * the function "k<TAB>x" of "back\slash.py" reads "back\\slash.py:4(k\tx)".
 */
#include "harness.h"

#include "base/buf.h"
#include "base/intern.h"
#include "model/profile.h"
#include "format/out.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stacks.h"

/* case units_s: interval 100000 us */
static const struct tframe units_s_s0[] = {
	{ "/s/a.py", 1, "a" },
	{ NULL, 0, NULL },
};
static const struct tframe units_s_s1[] = {
	{ "/s/b.py", 2, "b" },
	{ "/s/a.py", 1, "a" },
	{ NULL, 0, NULL },
};
static const struct tstack units_s_stacks[] = {
	{ 1, 10, units_s_s0 },
	{ 1, 5, units_s_s1 },
	{ 0, 0, NULL },
};

/* case units_us: interval 10 us */
static const struct tframe units_us_s0[] = {
	{ "/s/a.py", 1, "a" },
	{ NULL, 0, NULL },
};
static const struct tframe units_us_s1[] = {
	{ "/s/b.py", 2, "b" },
	{ "/s/a.py", 1, "a" },
	{ NULL, 0, NULL },
};
static const struct tstack units_us_stacks[] = {
	{ 1, 7, units_us_s0 },
	{ 1, 3, units_us_s1 },
	{ 0, 0, NULL },
};

/* case units_mixed: interval 100 us */
static const struct tframe units_mixed_s0[] = {
	{ "/s/a.py", 1, "a" },
	{ "/s/r.py", 9, "r" },
	{ NULL, 0, NULL },
};
static const struct tframe units_mixed_s1[] = {
	{ "/s/b.py", 2, "b" },
	{ "/s/r.py", 9, "r" },
	{ NULL, 0, NULL },
};
static const struct tstack units_mixed_stacks[] = {
	{ 1, 9, units_mixed_s0 },
	{ 1, 9, units_mixed_s1 },
	{ 0, 0, NULL },
};

/* case merge: interval 1000 us */
static const struct tframe merge_s0[] = {
	{ "/a/u.py", 1, "h" },
	{ "/m.py", 2, "main" },
	{ NULL, 0, NULL },
};
static const struct tframe merge_s1[] = {
	{ "/b/u.py", 1, "h" },
	{ "/m.py", 2, "main" },
	{ NULL, 0, NULL },
};
static const struct tframe merge_s2[] = {
	{ "/c/u.py", 1, "h" },
	{ "/m.py", 2, "main" },
	{ NULL, 0, NULL },
};
static const struct tframe merge_s3[] = {
	{ "~", 0, "<GC>" },
	{ "/m.py", 2, "main" },
	{ NULL, 0, NULL },
};
static const struct tframe merge_s4[] = {
	{ "~", FRAME_NO_LINE, "<GC>" },
	{ "/m.py", 2, "main" },
	{ NULL, 0, NULL },
};
static const struct tframe merge_s5[] = {
	{ "/m.py", 3, "main" },
	{ NULL, 0, NULL },
};
static const struct tstack merge_stacks[] = {
	{ 1, 2, merge_s0 },
	{ 1, 2, merge_s1 },
	{ 1, 1, merge_s2 },
	{ 1, 1, merge_s3 },
	{ 1, 4, merge_s4 },
	{ 1, 1, merge_s5 },
	{ 0, 0, NULL },
};

static const char exp_main_nsamples[] =
	"Profile Stats:\n"
	"       nsamples   sample%  tottime (ms)    cumul%  cumtime (ms)  filename:lineno(function)\n"
	"            8/8      32.0         8.000      32.0         8.000  x.py:10(f)\n"
	"            4/4      16.0         4.000      16.0         4.000  r.py:5(rec)\n"
	"            3/3      12.0         3.000      12.0         3.000  x.py:30(g)\n"
	"            3/3      12.0         3.000      12.0         3.000  util.py:7(helper)\n"
	"            2/2       8.0         2.000       8.0         2.000  ~:0(<GC>)\n"
	"            1/1       4.0         1.000       4.0         1.000  \303\274n\303\257.py:3(caf\303\251.\316\273)\n"
	"            1/1       4.0         1.000       4.0         1.000  it's.py:100(q)\n"
	"            1/1       4.0         1.000       4.0         1.000  <task>:0(Task:1)\n"
	"            1/1       4.0         1.000       4.0         1.000  back\\\\slash.py:4(k\\tx)\n"
	"            1/1       4.0         1.000       4.0         1.000  x.py:100(main)\n"
	"           0/11       0.0         0.000      44.0        11.000  x.py:20(main)\n"
	"            0/2       0.0         0.000       8.0         2.000  x.py:11(f)\n"
	"            0/4       0.0         0.000      16.0         4.000  x.py:21(main)\n"
	"            0/3       0.0         0.000      12.0         3.000  x.py:22(main)\n"
	"            0/1       0.0         0.000       4.0         1.000  x.py:23(main)\n"
	"\n"
	"Legend:\n"
	"  nsamples: Direct/Cumulative samples (direct executing / on call stack)\n"
	"  sample%: Percentage of total samples this function was directly executing\n"
	"  tottime: Estimated total time spent directly in this function\n"
	"  cumul%: Percentage of total samples when this function was on the call stack\n"
	"  cumtime: Estimated cumulative time (including time in called functions)\n"
	"  filename:lineno(function): Function location and name\n"
	"\n"
	"Summary of Interesting Functions:\n"
	"\n"
	"Functions with Highest Direct/Cumulative Ratio (Hot Spots):\n"
	"  1.000 direct/cumulative ratio, 16.0% direct samples: r.py:(rec)\n"
	"  1.000 direct/cumulative ratio, 12.0% direct samples: x.py:(g)\n"
	"  1.000 direct/cumulative ratio, 12.0% direct samples: util.py:(helper)\n"
	"\n"
	"Functions with Highest Call Frequency (Indirect Calls):\n"
	"  19 indirect calls, 80.0% total stack presence: x.py:(main)\n"
	"  2 indirect calls, 40.0% total stack presence: x.py:(f)\n"
	"\n"
	"Functions with Highest Call Magnification (Cumulative/Direct):\n"
	"  20.0x call magnification, 19 indirect calls from 1 direct: x.py:(main)\n"
	"  1.2x call magnification, 2 indirect calls from 8 direct: x.py:(f)\n";

static const char exp_main_tottime[] =
	"Profile Stats:\n"
	"       nsamples   sample%  tottime (ms)    cumul%  cumtime (ms)  filename:lineno(function)\n"
	"            8/8      32.0         8.000      32.0         8.000  x.py:10(f)\n"
	"            4/4      16.0         4.000      16.0         4.000  r.py:5(rec)\n"
	"            3/3      12.0         3.000      12.0         3.000  x.py:30(g)\n"
	"            3/3      12.0         3.000      12.0         3.000  util.py:7(helper)\n"
	"            2/2       8.0         2.000       8.0         2.000  ~:0(<GC>)\n"
	"            1/1       4.0         1.000       4.0         1.000  \303\274n\303\257.py:3(caf\303\251.\316\273)\n"
	"            1/1       4.0         1.000       4.0         1.000  it's.py:100(q)\n"
	"            1/1       4.0         1.000       4.0         1.000  <task>:0(Task:1)\n"
	"            1/1       4.0         1.000       4.0         1.000  back\\\\slash.py:4(k\\tx)\n"
	"            1/1       4.0         1.000       4.0         1.000  x.py:100(main)\n"
	"           0/11       0.0         0.000      44.0        11.000  x.py:20(main)\n"
	"            0/2       0.0         0.000       8.0         2.000  x.py:11(f)\n"
	"            0/4       0.0         0.000      16.0         4.000  x.py:21(main)\n"
	"            0/3       0.0         0.000      12.0         3.000  x.py:22(main)\n"
	"            0/1       0.0         0.000       4.0         1.000  x.py:23(main)\n"
	"\n"
	"Legend:\n"
	"  nsamples: Direct/Cumulative samples (direct executing / on call stack)\n"
	"  sample%: Percentage of total samples this function was directly executing\n"
	"  tottime: Estimated total time spent directly in this function\n"
	"  cumul%: Percentage of total samples when this function was on the call stack\n"
	"  cumtime: Estimated cumulative time (including time in called functions)\n"
	"  filename:lineno(function): Function location and name\n"
	"\n"
	"Summary of Interesting Functions:\n"
	"\n"
	"Functions with Highest Direct/Cumulative Ratio (Hot Spots):\n"
	"  1.000 direct/cumulative ratio, 16.0% direct samples: r.py:(rec)\n"
	"  1.000 direct/cumulative ratio, 12.0% direct samples: x.py:(g)\n"
	"  1.000 direct/cumulative ratio, 12.0% direct samples: util.py:(helper)\n"
	"\n"
	"Functions with Highest Call Frequency (Indirect Calls):\n"
	"  19 indirect calls, 80.0% total stack presence: x.py:(main)\n"
	"  2 indirect calls, 40.0% total stack presence: x.py:(f)\n"
	"\n"
	"Functions with Highest Call Magnification (Cumulative/Direct):\n"
	"  20.0x call magnification, 19 indirect calls from 1 direct: x.py:(main)\n"
	"  1.2x call magnification, 2 indirect calls from 8 direct: x.py:(f)\n";

static const char exp_main_cumtime[] =
	"Profile Stats:\n"
	"       nsamples   sample%  tottime (ms)    cumul%  cumtime (ms)  filename:lineno(function)\n"
	"           0/11       0.0         0.000      44.0        11.000  x.py:20(main)\n"
	"            8/8      32.0         8.000      32.0         8.000  x.py:10(f)\n"
	"            4/4      16.0         4.000      16.0         4.000  r.py:5(rec)\n"
	"            0/4       0.0         0.000      16.0         4.000  x.py:21(main)\n"
	"            3/3      12.0         3.000      12.0         3.000  x.py:30(g)\n"
	"            3/3      12.0         3.000      12.0         3.000  util.py:7(helper)\n"
	"            0/3       0.0         0.000      12.0         3.000  x.py:22(main)\n"
	"            2/2       8.0         2.000       8.0         2.000  ~:0(<GC>)\n"
	"            0/2       0.0         0.000       8.0         2.000  x.py:11(f)\n"
	"            1/1       4.0         1.000       4.0         1.000  \303\274n\303\257.py:3(caf\303\251.\316\273)\n"
	"            0/1       0.0         0.000       4.0         1.000  x.py:23(main)\n"
	"            1/1       4.0         1.000       4.0         1.000  it's.py:100(q)\n"
	"            0/1       0.0         0.000       4.0         1.000  x.py:12(main)\n"
	"            1/1       4.0         1.000       4.0         1.000  <task>:0(Task:1)\n"
	"            1/1       4.0         1.000       4.0         1.000  back\\\\slash.py:4(k\\tx)\n"
	"\n"
	"Legend:\n"
	"  nsamples: Direct/Cumulative samples (direct executing / on call stack)\n"
	"  sample%: Percentage of total samples this function was directly executing\n"
	"  tottime: Estimated total time spent directly in this function\n"
	"  cumul%: Percentage of total samples when this function was on the call stack\n"
	"  cumtime: Estimated cumulative time (including time in called functions)\n"
	"  filename:lineno(function): Function location and name\n"
	"\n"
	"Summary of Interesting Functions:\n"
	"\n"
	"Functions with Highest Direct/Cumulative Ratio (Hot Spots):\n"
	"  1.000 direct/cumulative ratio, 16.0% direct samples: r.py:(rec)\n"
	"  1.000 direct/cumulative ratio, 12.0% direct samples: x.py:(g)\n"
	"  1.000 direct/cumulative ratio, 12.0% direct samples: util.py:(helper)\n"
	"\n"
	"Functions with Highest Call Frequency (Indirect Calls):\n"
	"  20 indirect calls, 80.0% total stack presence: x.py:(main)\n"
	"  2 indirect calls, 40.0% total stack presence: x.py:(f)\n"
	"\n"
	"Functions with Highest Call Magnification (Cumulative/Direct):\n"
	"  1.2x call magnification, 2 indirect calls from 8 direct: x.py:(f)\n";

static const char exp_main_sample_pct[] =
	"Profile Stats:\n"
	"       nsamples   sample%  tottime (ms)    cumul%  cumtime (ms)  filename:lineno(function)\n"
	"            8/8      32.0         8.000      32.0         8.000  x.py:10(f)\n"
	"            4/4      16.0         4.000      16.0         4.000  r.py:5(rec)\n"
	"            3/3      12.0         3.000      12.0         3.000  x.py:30(g)\n"
	"            3/3      12.0         3.000      12.0         3.000  util.py:7(helper)\n"
	"            2/2       8.0         2.000       8.0         2.000  ~:0(<GC>)\n"
	"            1/1       4.0         1.000       4.0         1.000  \303\274n\303\257.py:3(caf\303\251.\316\273)\n"
	"            1/1       4.0         1.000       4.0         1.000  it's.py:100(q)\n"
	"            1/1       4.0         1.000       4.0         1.000  <task>:0(Task:1)\n"
	"            1/1       4.0         1.000       4.0         1.000  back\\\\slash.py:4(k\\tx)\n"
	"            1/1       4.0         1.000       4.0         1.000  x.py:100(main)\n"
	"           0/11       0.0         0.000      44.0        11.000  x.py:20(main)\n"
	"            0/2       0.0         0.000       8.0         2.000  x.py:11(f)\n"
	"            0/4       0.0         0.000      16.0         4.000  x.py:21(main)\n"
	"            0/3       0.0         0.000      12.0         3.000  x.py:22(main)\n"
	"            0/1       0.0         0.000       4.0         1.000  x.py:23(main)\n"
	"\n"
	"Legend:\n"
	"  nsamples: Direct/Cumulative samples (direct executing / on call stack)\n"
	"  sample%: Percentage of total samples this function was directly executing\n"
	"  tottime: Estimated total time spent directly in this function\n"
	"  cumul%: Percentage of total samples when this function was on the call stack\n"
	"  cumtime: Estimated cumulative time (including time in called functions)\n"
	"  filename:lineno(function): Function location and name\n"
	"\n"
	"Summary of Interesting Functions:\n"
	"\n"
	"Functions with Highest Direct/Cumulative Ratio (Hot Spots):\n"
	"  1.000 direct/cumulative ratio, 16.0% direct samples: r.py:(rec)\n"
	"  1.000 direct/cumulative ratio, 12.0% direct samples: x.py:(g)\n"
	"  1.000 direct/cumulative ratio, 12.0% direct samples: util.py:(helper)\n"
	"\n"
	"Functions with Highest Call Frequency (Indirect Calls):\n"
	"  19 indirect calls, 80.0% total stack presence: x.py:(main)\n"
	"  2 indirect calls, 40.0% total stack presence: x.py:(f)\n"
	"\n"
	"Functions with Highest Call Magnification (Cumulative/Direct):\n"
	"  20.0x call magnification, 19 indirect calls from 1 direct: x.py:(main)\n"
	"  1.2x call magnification, 2 indirect calls from 8 direct: x.py:(f)\n";

static const char exp_main_cumul_pct[] =
	"Profile Stats:\n"
	"       nsamples   sample%  tottime (ms)    cumul%  cumtime (ms)  filename:lineno(function)\n"
	"           0/11       0.0         0.000      44.0        11.000  x.py:20(main)\n"
	"            8/8      32.0         8.000      32.0         8.000  x.py:10(f)\n"
	"            4/4      16.0         4.000      16.0         4.000  r.py:5(rec)\n"
	"            0/4       0.0         0.000      16.0         4.000  x.py:21(main)\n"
	"            3/3      12.0         3.000      12.0         3.000  x.py:30(g)\n"
	"            3/3      12.0         3.000      12.0         3.000  util.py:7(helper)\n"
	"            0/3       0.0         0.000      12.0         3.000  x.py:22(main)\n"
	"            2/2       8.0         2.000       8.0         2.000  ~:0(<GC>)\n"
	"            0/2       0.0         0.000       8.0         2.000  x.py:11(f)\n"
	"            1/1       4.0         1.000       4.0         1.000  \303\274n\303\257.py:3(caf\303\251.\316\273)\n"
	"            0/1       0.0         0.000       4.0         1.000  x.py:23(main)\n"
	"            1/1       4.0         1.000       4.0         1.000  it's.py:100(q)\n"
	"            0/1       0.0         0.000       4.0         1.000  x.py:12(main)\n"
	"            1/1       4.0         1.000       4.0         1.000  <task>:0(Task:1)\n"
	"            1/1       4.0         1.000       4.0         1.000  back\\\\slash.py:4(k\\tx)\n"
	"\n"
	"Legend:\n"
	"  nsamples: Direct/Cumulative samples (direct executing / on call stack)\n"
	"  sample%: Percentage of total samples this function was directly executing\n"
	"  tottime: Estimated total time spent directly in this function\n"
	"  cumul%: Percentage of total samples when this function was on the call stack\n"
	"  cumtime: Estimated cumulative time (including time in called functions)\n"
	"  filename:lineno(function): Function location and name\n"
	"\n"
	"Summary of Interesting Functions:\n"
	"\n"
	"Functions with Highest Direct/Cumulative Ratio (Hot Spots):\n"
	"  1.000 direct/cumulative ratio, 16.0% direct samples: r.py:(rec)\n"
	"  1.000 direct/cumulative ratio, 12.0% direct samples: x.py:(g)\n"
	"  1.000 direct/cumulative ratio, 12.0% direct samples: util.py:(helper)\n"
	"\n"
	"Functions with Highest Call Frequency (Indirect Calls):\n"
	"  20 indirect calls, 80.0% total stack presence: x.py:(main)\n"
	"  2 indirect calls, 40.0% total stack presence: x.py:(f)\n"
	"\n"
	"Functions with Highest Call Magnification (Cumulative/Direct):\n"
	"  1.2x call magnification, 2 indirect calls from 8 direct: x.py:(f)\n";

static const char exp_main_nsamples_cumul[] =
	"Profile Stats:\n"
	"       nsamples   sample%  tottime (ms)    cumul%  cumtime (ms)  filename:lineno(function)\n"
	"           0/11       0.0         0.000      44.0        11.000  x.py:20(main)\n"
	"            8/8      32.0         8.000      32.0         8.000  x.py:10(f)\n"
	"            4/4      16.0         4.000      16.0         4.000  r.py:5(rec)\n"
	"            0/4       0.0         0.000      16.0         4.000  x.py:21(main)\n"
	"            3/3      12.0         3.000      12.0         3.000  x.py:30(g)\n"
	"            3/3      12.0         3.000      12.0         3.000  util.py:7(helper)\n"
	"            0/3       0.0         0.000      12.0         3.000  x.py:22(main)\n"
	"            2/2       8.0         2.000       8.0         2.000  ~:0(<GC>)\n"
	"            0/2       0.0         0.000       8.0         2.000  x.py:11(f)\n"
	"            1/1       4.0         1.000       4.0         1.000  \303\274n\303\257.py:3(caf\303\251.\316\273)\n"
	"            0/1       0.0         0.000       4.0         1.000  x.py:23(main)\n"
	"            1/1       4.0         1.000       4.0         1.000  it's.py:100(q)\n"
	"            0/1       0.0         0.000       4.0         1.000  x.py:12(main)\n"
	"            1/1       4.0         1.000       4.0         1.000  <task>:0(Task:1)\n"
	"            1/1       4.0         1.000       4.0         1.000  back\\\\slash.py:4(k\\tx)\n"
	"\n"
	"Legend:\n"
	"  nsamples: Direct/Cumulative samples (direct executing / on call stack)\n"
	"  sample%: Percentage of total samples this function was directly executing\n"
	"  tottime: Estimated total time spent directly in this function\n"
	"  cumul%: Percentage of total samples when this function was on the call stack\n"
	"  cumtime: Estimated cumulative time (including time in called functions)\n"
	"  filename:lineno(function): Function location and name\n"
	"\n"
	"Summary of Interesting Functions:\n"
	"\n"
	"Functions with Highest Direct/Cumulative Ratio (Hot Spots):\n"
	"  1.000 direct/cumulative ratio, 16.0% direct samples: r.py:(rec)\n"
	"  1.000 direct/cumulative ratio, 12.0% direct samples: x.py:(g)\n"
	"  1.000 direct/cumulative ratio, 12.0% direct samples: util.py:(helper)\n"
	"\n"
	"Functions with Highest Call Frequency (Indirect Calls):\n"
	"  20 indirect calls, 80.0% total stack presence: x.py:(main)\n"
	"  2 indirect calls, 40.0% total stack presence: x.py:(f)\n"
	"\n"
	"Functions with Highest Call Magnification (Cumulative/Direct):\n"
	"  1.2x call magnification, 2 indirect calls from 8 direct: x.py:(f)\n";

static const char exp_main_name[] =
	"Profile Stats:\n"
	"       nsamples   sample%  tottime (ms)    cumul%  cumtime (ms)  filename:lineno(function)\n"
	"            1/1       4.0         1.000       4.0         1.000  it's.py:100(q)\n"
	"            1/1       4.0         1.000       4.0         1.000  <task>:0(Task:1)\n"
	"            1/1       4.0         1.000       4.0         1.000  back\\\\slash.py:4(k\\tx)\n"
	"            4/4      16.0         4.000      16.0         4.000  r.py:5(rec)\n"
	"            3/3      12.0         3.000      12.0         3.000  util.py:7(helper)\n"
	"            8/8      32.0         8.000      32.0         8.000  x.py:10(f)\n"
	"            1/1       4.0         1.000       4.0         1.000  x.py:100(main)\n"
	"            0/2       0.0         0.000       8.0         2.000  x.py:11(f)\n"
	"            0/1       0.0         0.000       4.0         1.000  x.py:12(main)\n"
	"           0/11       0.0         0.000      44.0        11.000  x.py:20(main)\n"
	"            0/4       0.0         0.000      16.0         4.000  x.py:21(main)\n"
	"            0/3       0.0         0.000      12.0         3.000  x.py:22(main)\n"
	"            0/1       0.0         0.000       4.0         1.000  x.py:23(main)\n"
	"            3/3      12.0         3.000      12.0         3.000  x.py:30(g)\n"
	"            2/2       8.0         2.000       8.0         2.000  ~:0(<GC>)\n"
	"\n"
	"Legend:\n"
	"  nsamples: Direct/Cumulative samples (direct executing / on call stack)\n"
	"  sample%: Percentage of total samples this function was directly executing\n"
	"  tottime: Estimated total time spent directly in this function\n"
	"  cumul%: Percentage of total samples when this function was on the call stack\n"
	"  cumtime: Estimated cumulative time (including time in called functions)\n"
	"  filename:lineno(function): Function location and name\n"
	"\n"
	"Summary of Interesting Functions:\n"
	"\n"
	"Functions with Highest Direct/Cumulative Ratio (Hot Spots):\n"
	"  1.000 direct/cumulative ratio, 4.0% direct samples: it's.py:(q)\n"
	"  1.000 direct/cumulative ratio, 4.0% direct samples: <task>:Task:(1)\n"
	"  1.000 direct/cumulative ratio, 4.0% direct samples: back\\\\slash.py:(k\\tx)\n"
	"\n"
	"Functions with Highest Call Frequency (Indirect Calls):\n"
	"  20 indirect calls, 84.0% total stack presence: x.py:(main)\n"
	"  2 indirect calls, 40.0% total stack presence: x.py:(f)\n"
	"\n"
	"Functions with Highest Call Magnification (Cumulative/Direct):\n"
	"  21.0x call magnification, 20 indirect calls from 1 direct: x.py:(main)\n"
	"  1.2x call magnification, 2 indirect calls from 8 direct: x.py:(f)\n";

static const char exp_main_limit3[] =
	"Profile Stats:\n"
	"       nsamples   sample%  tottime (ms)    cumul%  cumtime (ms)  filename:lineno(function)\n"
	"            8/8      32.0         8.000      32.0         8.000  x.py:10(f)\n"
	"            4/4      16.0         4.000      16.0         4.000  r.py:5(rec)\n"
	"            3/3      12.0         3.000      12.0         3.000  x.py:30(g)\n"
	"\n"
	"Legend:\n"
	"  nsamples: Direct/Cumulative samples (direct executing / on call stack)\n"
	"  sample%: Percentage of total samples this function was directly executing\n"
	"  tottime: Estimated total time spent directly in this function\n"
	"  cumul%: Percentage of total samples when this function was on the call stack\n"
	"  cumtime: Estimated cumulative time (including time in called functions)\n"
	"  filename:lineno(function): Function location and name\n"
	"\n"
	"Summary of Interesting Functions:\n"
	"\n"
	"Functions with Highest Direct/Cumulative Ratio (Hot Spots):\n"
	"  1.000 direct/cumulative ratio, 32.0% direct samples: x.py:(f)\n"
	"  1.000 direct/cumulative ratio, 16.0% direct samples: r.py:(rec)\n"
	"  1.000 direct/cumulative ratio, 12.0% direct samples: x.py:(g)\n"
	"\n"
	"Functions with Highest Call Frequency (Indirect Calls):\n"
	"\n"
	"Functions with Highest Call Magnification (Cumulative/Direct):\n";

static const char exp_main_limit40_name[] =
	"Profile Stats:\n"
	"       nsamples   sample%  tottime (ms)    cumul%  cumtime (ms)  filename:lineno(function)\n"
	"            1/1       4.0         1.000       4.0         1.000  it's.py:100(q)\n"
	"            1/1       4.0         1.000       4.0         1.000  <task>:0(Task:1)\n"
	"            1/1       4.0         1.000       4.0         1.000  back\\\\slash.py:4(k\\tx)\n"
	"            4/4      16.0         4.000      16.0         4.000  r.py:5(rec)\n"
	"            3/3      12.0         3.000      12.0         3.000  util.py:7(helper)\n"
	"            8/8      32.0         8.000      32.0         8.000  x.py:10(f)\n"
	"            1/1       4.0         1.000       4.0         1.000  x.py:100(main)\n"
	"            0/2       0.0         0.000       8.0         2.000  x.py:11(f)\n"
	"            0/1       0.0         0.000       4.0         1.000  x.py:12(main)\n"
	"           0/11       0.0         0.000      44.0        11.000  x.py:20(main)\n"
	"            0/4       0.0         0.000      16.0         4.000  x.py:21(main)\n"
	"            0/3       0.0         0.000      12.0         3.000  x.py:22(main)\n"
	"            0/1       0.0         0.000       4.0         1.000  x.py:23(main)\n"
	"            3/3      12.0         3.000      12.0         3.000  x.py:30(g)\n"
	"            2/2       8.0         2.000       8.0         2.000  ~:0(<GC>)\n"
	"            1/1       4.0         1.000       4.0         1.000  \303\274n\303\257.py:3(caf\303\251.\316\273)\n"
	"\n"
	"Legend:\n"
	"  nsamples: Direct/Cumulative samples (direct executing / on call stack)\n"
	"  sample%: Percentage of total samples this function was directly executing\n"
	"  tottime: Estimated total time spent directly in this function\n"
	"  cumul%: Percentage of total samples when this function was on the call stack\n"
	"  cumtime: Estimated cumulative time (including time in called functions)\n"
	"  filename:lineno(function): Function location and name\n"
	"\n"
	"Summary of Interesting Functions:\n"
	"\n"
	"Functions with Highest Direct/Cumulative Ratio (Hot Spots):\n"
	"  1.000 direct/cumulative ratio, 4.0% direct samples: it's.py:(q)\n"
	"  1.000 direct/cumulative ratio, 4.0% direct samples: <task>:Task:(1)\n"
	"  1.000 direct/cumulative ratio, 4.0% direct samples: back\\\\slash.py:(k\\tx)\n"
	"\n"
	"Functions with Highest Call Frequency (Indirect Calls):\n"
	"  20 indirect calls, 84.0% total stack presence: x.py:(main)\n"
	"  2 indirect calls, 40.0% total stack presence: x.py:(f)\n"
	"\n"
	"Functions with Highest Call Magnification (Cumulative/Direct):\n"
	"  21.0x call magnification, 20 indirect calls from 1 direct: x.py:(main)\n"
	"  1.2x call magnification, 2 indirect calls from 8 direct: x.py:(f)\n";

static const char exp_main_nosummary[] =
	"Profile Stats:\n"
	"       nsamples   sample%  tottime (ms)    cumul%  cumtime (ms)  filename:lineno(function)\n"
	"           0/11       0.0         0.000      44.0        11.000  x.py:20(main)\n"
	"            8/8      32.0         8.000      32.0         8.000  x.py:10(f)\n"
	"            4/4      16.0         4.000      16.0         4.000  r.py:5(rec)\n"
	"            0/4       0.0         0.000      16.0         4.000  x.py:21(main)\n"
	"            3/3      12.0         3.000      12.0         3.000  x.py:30(g)\n"
	"            3/3      12.0         3.000      12.0         3.000  util.py:7(helper)\n"
	"            0/3       0.0         0.000      12.0         3.000  x.py:22(main)\n"
	"            2/2       8.0         2.000       8.0         2.000  ~:0(<GC>)\n"
	"            0/2       0.0         0.000       8.0         2.000  x.py:11(f)\n"
	"            1/1       4.0         1.000       4.0         1.000  \303\274n\303\257.py:3(caf\303\251.\316\273)\n"
	"            0/1       0.0         0.000       4.0         1.000  x.py:23(main)\n"
	"            1/1       4.0         1.000       4.0         1.000  it's.py:100(q)\n"
	"            0/1       0.0         0.000       4.0         1.000  x.py:12(main)\n"
	"            1/1       4.0         1.000       4.0         1.000  <task>:0(Task:1)\n"
	"            1/1       4.0         1.000       4.0         1.000  back\\\\slash.py:4(k\\tx)\n"
	"\n"
	"Legend:\n"
	"  nsamples: Direct/Cumulative samples (direct executing / on call stack)\n"
	"  sample%: Percentage of total samples this function was directly executing\n"
	"  tottime: Estimated total time spent directly in this function\n"
	"  cumul%: Percentage of total samples when this function was on the call stack\n"
	"  cumtime: Estimated cumulative time (including time in called functions)\n"
	"  filename:lineno(function): Function location and name\n";

static const char exp_main_color[] =
	"\033[1;34mProfile Stats:\033[0m\n"
	"\033[1;34m       nsamples\033[0m  \033[1;34m sample%\033[0m  \033[1;34mtottime (ms)\033[0m  \033[1;34m  cumul%\033[0m  \033[1;34mcumtime (ms)\033[0m  \033[1;34mfilename:lineno(function)\033[0m\n"
	"            8/8      32.0         8.000      32.0         8.000  \033[32mx.py\033[0m:\033[33m10\033[0m(\033[36mf\033[0m)\n"
	"            4/4      16.0         4.000      16.0         4.000  \033[32mr.py\033[0m:\033[33m5\033[0m(\033[36mrec\033[0m)\n"
	"            3/3      12.0         3.000      12.0         3.000  \033[32mx.py\033[0m:\033[33m30\033[0m(\033[36mg\033[0m)\n"
	"            3/3      12.0         3.000      12.0         3.000  \033[32mutil.py\033[0m:\033[33m7\033[0m(\033[36mhelper\033[0m)\n"
	"\n"
	"\033[1;34mLegend:\033[0m\n"
	"  \033[33mnsamples\033[0m: Direct/Cumulative samples (direct executing / on call stack)\n"
	"  \033[33msample%\033[0m: Percentage of total samples this function was directly executing\n"
	"  \033[33mtottime\033[0m: Estimated total time spent directly in this function\n"
	"  \033[33mcumul%\033[0m: Percentage of total samples when this function was on the call stack\n"
	"  \033[33mcumtime\033[0m: Estimated cumulative time (including time in called functions)\n"
	"  \033[33mfilename:lineno(function)\033[0m: Function location and name\n"
	"\n"
	"\033[1;34mSummary of Interesting Functions:\033[0m\n"
	"\n"
	"\033[1;34mFunctions with Highest Direct/Cumulative Ratio (Hot Spots):\033[0m\n"
	"  1.000 direct/cumulative ratio, 32.0% direct samples: \033[32mx.py\033[0m:\033[33m\033[0m(\033[36mf\033[0m)\n"
	"  1.000 direct/cumulative ratio, 16.0% direct samples: \033[32mr.py\033[0m:\033[33m\033[0m(\033[36mrec\033[0m)\n"
	"  1.000 direct/cumulative ratio, 12.0% direct samples: \033[32mx.py\033[0m:\033[33m\033[0m(\033[36mg\033[0m)\n"
	"\n"
	"\033[1;34mFunctions with Highest Call Frequency (Indirect Calls):\033[0m\n"
	"\n"
	"\033[1;34mFunctions with Highest Call Magnification (Cumulative/Direct):\033[0m\n";

static const char exp_units_s[] =
	"Profile Stats:\n"
	"       nsamples   sample%   tottime (s)    cumul%   cumtime (s)  filename:lineno(function)\n"
	"          10/15      66.7         1.000     100.0         1.500  a.py:1(a)\n"
	"            5/5      33.3         0.500      33.3         0.500  b.py:2(b)\n"
	"\n"
	"Legend:\n"
	"  nsamples: Direct/Cumulative samples (direct executing / on call stack)\n"
	"  sample%: Percentage of total samples this function was directly executing\n"
	"  tottime: Estimated total time spent directly in this function\n"
	"  cumul%: Percentage of total samples when this function was on the call stack\n"
	"  cumtime: Estimated cumulative time (including time in called functions)\n"
	"  filename:lineno(function): Function location and name\n"
	"\n"
	"Summary of Interesting Functions:\n"
	"\n"
	"Functions with Highest Direct/Cumulative Ratio (Hot Spots):\n"
	"  1.000 direct/cumulative ratio, 33.3% direct samples: b.py:(b)\n"
	"  0.667 direct/cumulative ratio, 66.7% direct samples: a.py:(a)\n"
	"\n"
	"Functions with Highest Call Frequency (Indirect Calls):\n"
	"  5 indirect calls, 100.0% total stack presence: a.py:(a)\n"
	"\n"
	"Functions with Highest Call Magnification (Cumulative/Direct):\n"
	"  1.5x call magnification, 5 indirect calls from 10 direct: a.py:(a)\n";

static const char exp_units_us[] =
	"Profile Stats:\n"
	"       nsamples   sample%  tottime (\316\274s)    cumul%  cumtime (\316\274s)  filename:lineno(function)\n"
	"           7/10      70.0        70.000     100.0       100.000  a.py:1(a)\n"
	"            3/3      30.0        30.000      30.0        30.000  b.py:2(b)\n"
	"\n"
	"Legend:\n"
	"  nsamples: Direct/Cumulative samples (direct executing / on call stack)\n"
	"  sample%: Percentage of total samples this function was directly executing\n"
	"  tottime: Estimated total time spent directly in this function\n"
	"  cumul%: Percentage of total samples when this function was on the call stack\n"
	"  cumtime: Estimated cumulative time (including time in called functions)\n"
	"  filename:lineno(function): Function location and name\n"
	"\n"
	"Summary of Interesting Functions:\n"
	"\n"
	"Functions with Highest Direct/Cumulative Ratio (Hot Spots):\n"
	"  1.000 direct/cumulative ratio, 30.0% direct samples: b.py:(b)\n"
	"  0.700 direct/cumulative ratio, 70.0% direct samples: a.py:(a)\n"
	"\n"
	"Functions with Highest Call Frequency (Indirect Calls):\n"
	"  3 indirect calls, 100.0% total stack presence: a.py:(a)\n"
	"\n"
	"Functions with Highest Call Magnification (Cumulative/Direct):\n"
	"  1.4x call magnification, 3 indirect calls from 7 direct: a.py:(a)\n";

static const char exp_units_mixed[] =
	"Profile Stats:\n"
	"       nsamples   sample%  tottime (\316\274s)    cumul%  cumtime (ms)  filename:lineno(function)\n"
	"            9/9      50.0       900.000      50.0         0.900  a.py:1(a)\n"
	"            9/9      50.0       900.000      50.0         0.900  b.py:2(b)\n"
	"           0/18       0.0         0.000     100.0         1.800  r.py:9(r)\n"
	"\n"
	"Legend:\n"
	"  nsamples: Direct/Cumulative samples (direct executing / on call stack)\n"
	"  sample%: Percentage of total samples this function was directly executing\n"
	"  tottime: Estimated total time spent directly in this function\n"
	"  cumul%: Percentage of total samples when this function was on the call stack\n"
	"  cumtime: Estimated cumulative time (including time in called functions)\n"
	"  filename:lineno(function): Function location and name\n"
	"\n"
	"Summary of Interesting Functions:\n"
	"\n"
	"Functions with Highest Direct/Cumulative Ratio (Hot Spots):\n"
	"  1.000 direct/cumulative ratio, 50.0% direct samples: a.py:(a)\n"
	"  1.000 direct/cumulative ratio, 50.0% direct samples: b.py:(b)\n"
	"\n"
	"Functions with Highest Call Frequency (Indirect Calls):\n"
	"  18 indirect calls, 100.0% total stack presence: r.py:(r)\n"
	"\n"
	"Functions with Highest Call Magnification (Cumulative/Direct):\n";

static const char exp_merge[] =
	"Profile Stats:\n"
	"       nsamples   sample%  tottime (ms)    cumul%  cumtime (ms)  filename:lineno(function)\n"
	"            5/5      45.5         5.000      45.5         5.000  u.py:1(h)\n"
	"            5/5      45.5         5.000      45.5         5.000  ~:0(<GC>)\n"
	"            1/1       9.1         1.000       9.1         1.000  m.py:3(main)\n"
	"           0/10       0.0         0.000      90.9        10.000  m.py:2(main)\n"
	"\n"
	"Legend:\n"
	"  nsamples: Direct/Cumulative samples (direct executing / on call stack)\n"
	"  sample%: Percentage of total samples this function was directly executing\n"
	"  tottime: Estimated total time spent directly in this function\n"
	"  cumul%: Percentage of total samples when this function was on the call stack\n"
	"  cumtime: Estimated cumulative time (including time in called functions)\n"
	"  filename:lineno(function): Function location and name\n"
	"\n"
	"Summary of Interesting Functions:\n"
	"\n"
	"Functions with Highest Direct/Cumulative Ratio (Hot Spots):\n"
	"  1.000 direct/cumulative ratio, 45.5% direct samples: u.py:(h)\n"
	"  1.000 direct/cumulative ratio, 45.5% direct samples: ~:(<GC>)\n"
	"  0.091 direct/cumulative ratio, 9.1% direct samples: m.py:(main)\n"
	"\n"
	"Functions with Highest Call Frequency (Indirect Calls):\n"
	"  10 indirect calls, 100.0% total stack presence: m.py:(main)\n"
	"\n"
	"Functions with Highest Call Magnification (Cumulative/Direct):\n"
	"  11.0x call magnification, 10 indirect calls from 1 direct: m.py:(main)\n";

static const char exp_empty[] =
	"No samples were collected.\n";

static const char exp_empty_cpu[] =
	"No samples were collected.\n"
	"This can happen in CPU mode when all threads are idle.\n";


/* Stream the stacks through the pstats writer as req asks (its output,
 * its path); the run's interval and mode are set on the profile the
 * writer gets at the end, as run and replay do.  Returns close's result. */
static int stream(const struct tstack *stacks, uint64_t interval, int mode,
		  const struct out_request *req, bool *written)
{
	const struct out_format *fmt = out_format_find("pstats");
	CHECK(fmt != NULL && fmt->stream == &out_pstats_stream && fmt->write == NULL);
	struct profile p;
	profile_init(&p);
	struct out_stream *st = NULL;
	CHECK_EQ_INT(fmt->stream->open(&st, req), 0);
	CHECK_EQ_INT(stacks_feed(fmt->stream, st, &p, stacks), 0);
	p.stats.interval_us = interval;
	p.stats.mode = mode;
	int rc = fmt->stream->close(st, &p, req, written);
	profile_release(&p);
	return rc;
}

/* Run the pstats writer to text and return it (malloc'd). */
static char *render(const struct tstack *stacks, uint64_t interval, int sort, int limit,
		    bool summary, bool color, int mode)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	struct out_request req = { .path = NULL, .stdout_fp = fp, .color = color, .sort = sort,
				   .limit = limit, .show_summary = summary };
	bool written = true;
	CHECK_EQ_INT(stream(stacks, interval, mode, &req, &written), 0);
	CHECK(!written);
	fclose(fp);
	return text;
}

/* CHECK_STR, but reports the first differing line. */
static void check_text(const char *got, const char *want, const char *what)
{
	harness_checks++;
	if (strcmp(got, want) == 0)
		return;
	harness_failures++;
	size_t line = 1;
	const char *g = got, *w = want;
	while (*g && *g == *w) {
		if (*g == '\n')
			line++;
		g++, w++;
	}
	const char *gl = g, *wl = w;
	while (gl > got && gl[-1] != '\n')
		gl--;
	while (wl > want && wl[-1] != '\n')
		wl--;
	fprintf(stderr, "%s: %s: line %zu differs\n  got:  %.*s\n  want: %.*s\n", harness_current,
		what, line, (int)strcspn(gl, "\n"), gl, (int)strcspn(wl, "\n"), wl);
}

static void check_case(const struct tstack *stacks, uint64_t interval, int sort, int limit,
		       bool summary, bool color, const char *want, const char *what)
{
	char *got = render(stacks, interval, sort, limit, summary, color, 0);
	check_text(got, want, what);
	free(got);
}

TEST(sort_keys)
{
	/* ties (f:10 8 vs ...; g/helper 3/3; 1/1 rows) keep Tachyon's dict order */
	check_case(main_stacks, 1000, SORT_NSAMPLES, 15, true, false, exp_main_nsamples, "nsamples");
	check_case(main_stacks, 1000, SORT_TOTTIME, 15, true, false, exp_main_tottime, "tottime");
	check_case(main_stacks, 1000, SORT_CUMTIME, 15, true, false, exp_main_cumtime, "cumtime");
	check_case(main_stacks, 1000, SORT_SAMPLE_PCT, 15, true, false, exp_main_sample_pct, "sample%");
	check_case(main_stacks, 1000, SORT_CUMUL_PCT, 15, true, false, exp_main_cumul_pct, "cumul%");
	check_case(main_stacks, 1000, SORT_NSAMPLES_CUMUL, 15, true, false, exp_main_nsamples_cumul,
		   "nsamples-cumul");
	/* str(tuple) order: quotes, backslashes, "100" < "12" */
	check_case(main_stacks, 1000, SORT_NAME, 15, true, false, exp_main_name, "name");
	check_case(main_stacks, 1000, SORT_NAME, 40, true, false, exp_main_limit40_name, "name/40");
}

TEST(limit_summary_color)
{
	/* the summary only sees the displayed rows */
	check_case(main_stacks, 1000, SORT_NSAMPLES, 3, true, false, exp_main_limit3, "limit 3");
	check_case(main_stacks, 1000, SORT_NSAMPLES_CUMUL, -1, false, false, exp_main_nosummary,
		   "no summary");
	check_case(main_stacks, 1000, SORT_NSAMPLES, 4, true, true, exp_main_color, "colour");
}

TEST(units)
{
	check_case(units_s_stacks, 100000, SORT_NSAMPLES, 15, true, false, exp_units_s, "s");
	check_case(units_us_stacks, 10, SORT_NSAMPLES, 15, true, false, exp_units_us, "us");
	check_case(units_mixed_stacks, 100, SORT_NSAMPLES, 15, true, false, exp_units_mixed, "mixed");
}

TEST(strip_dirs_merge)
{
	/* /a/u.py, /b/u.py, /c/u.py merge; <GC> at line 0 and with no line are one */
	check_case(merge_stacks, 1000, SORT_NSAMPLES, 15, true, false, exp_merge, "merge");
}

TEST(empty)
{
	static const struct tstack none[] = { { 0, 0, NULL } };
	char *got = render(none, 1000, SORT_NSAMPLES, 0, true, false, 0);
	check_text(got, exp_empty, "wall");
	free(got);
	/* the mode is the run's (the profile's), known only at the end */
	got = render(none, 1000, SORT_NSAMPLES, 0, true, false, 1);
	check_text(got, exp_empty_cpu, "cpu");
	free(got);
}


/* The marshal file of a small profile, byte for byte: key order, full file
 * names, ints, floats, int callers with the recursion self-edge, and no
 * ("__sampled__",) marker (see src/format/pstats.c).  The bytes were checked
 * to load with pstats.Stats() on 3.8-3.15. */
TEST(file)
{
	static const struct tframe s0[] = {
		{ "/d/r.py", 5, "rec" }, { "/d/r.py", 5, "rec" }, { "/d/m.py", 9, "main" },
		{ NULL, 0, NULL },
	};
	static const struct tframe s1[] = {
		{ "~", FRAME_NO_LINE, "<GC>" }, { "/d/m.py", 9, "main" }, { NULL, 0, NULL },
	};
	static const struct tstack stacks[] = { { 7, 3, s0 }, { 7, 1, s1 }, { 0, 0, NULL } };
	static const unsigned char want[] =
		"{"
		/* ('/d/r.py', 5, 'rec'): (3, 3, 0.003, 0.003, {('/d/r.py', 5, 'rec'): 3}) */
		")\x03z\x07/d/r.pyi\x05\x00\x00\x00z\x03rec"
		")\x05i\x03\x00\x00\x00i\x03\x00\x00\x00"
		"g\xfa\x7e\x6a\xbc\x74\x93\x68\x3f" "g\xfa\x7e\x6a\xbc\x74\x93\x68\x3f"
		"{)\x03z\x07/d/r.pyi\x05\x00\x00\x00z\x03reci\x03\x00\x00\x00"
		")\x03z\x07/d/m.pyi\x09\x00\x00\x00z\x04maini\x03\x00\x00\x00" "0"
		/* ('/d/m.py', 9, 'main'): (0, 4, 0.0, 0.004, {}) */
		")\x03z\x07/d/m.pyi\x09\x00\x00\x00z\x04main"
		")\x05i\x00\x00\x00\x00i\x04\x00\x00\x00"
		"g\x00\x00\x00\x00\x00\x00\x00\x00" "g\xfc\xa9\xf1\xd2\x4d\x62\x70\x3f" "{0"
		/* ('~', 0, '<GC>'): (1, 1, 0.001, 0.001, {('/d/m.py', 9, 'main'): 1}) */
		")\x03z\x01~i\x00\x00\x00\x00z\x04<GC>"
		")\x05i\x01\x00\x00\x00i\x01\x00\x00\x00"
		"g\xfc\xa9\xf1\xd2\x4d\x62\x50\x3f" "g\xfc\xa9\xf1\xd2\x4d\x62\x50\x3f"
		"{)\x03z\x07/d/m.pyi\x09\x00\x00\x00z\x04maini\x01\x00\x00\x00" "0"
		"0";
	char path[] = "/tmp/strobe_test_pstats_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	struct out_request req = { .path = path, .sort = SORT_NSAMPLES, .show_summary = true };
	bool written = false;
	CHECK_EQ_INT(stream(stacks, 1000, 0, &req, &written), 0);
	CHECK(written);
	size_t len = 0;
	char *got = harness_slurp(path, &len);
	CHECK(got != NULL);
	CHECK_EQ_INT(len, sizeof(want) - 1);
	CHECK(got && len == sizeof(want) - 1 && memcmp(got, want, len) == 0);
	if (getenv("STROBE_KEEP_PSTATS"))
		fprintf(stderr, "kept %s\n", path);
	else
		unlink(path);
	free(got);

	/* an unwritable path is an error, not a crash */
	req.path = "/nonexistent-dir/x.pstats";
	written = true;
	CHECK(stream(stacks, 1000, 0, &req, &written) < 0);
	CHECK(!written);
}

TEST(table)
{
	const struct out_format *f = out_format_find("pstats");
	CHECK(f && strcmp(f->ext, "pstats") == 0 && f->written_msg == NULL);
	f = out_format_find("collapsed");
	CHECK(f && strcmp(f->ext, "txt") == 0);
	CHECK_STR(f ? f->written_msg : NULL, "Collapsed stack output written to %s");
	CHECK(out_format_find("nope") == NULL);
}

int main(void)
{
	RUN(sort_keys);
	RUN(limit_summary_color);
	RUN(units);
	RUN(strip_dirs_merge);
	RUN(empty);
	RUN(file);
	RUN(table);
	return harness_done();
}
