/* test_native.c - the merge of native and Python stacks (py_native_merge):
 * evaluation frames replaced by the Python frames they ran, in both frame
 * models; the interpreter's frames hidden or kept; stacks cut short; the
 * two disagreeing. */
#include "harness.h"

#include "base/error.h"
#include "model/sample.h"
#include "py/native.h"

/* String ids: Python functions are 100+, native ones 200+. */
enum { FILE_PY = 1, FILE_SO = 2, SYNTH = 3, NATIVE_MARK = 4, SHUTDOWN = 5, GC = 6 };

static const struct py_merge_rules rules_objects = { SYNTH, NATIVE_MARK, SHUTDOWN, true, false,
						    false };
static const struct py_merge_rules rules_interp = { SYNTH, NATIVE_MARK, SHUTDOWN, false, false,
						   false };
static const struct py_merge_rules rules_addr = { SYNTH, NATIVE_MARK, SHUTDOWN, false, true,
						 false };

static struct frame py(uint32_t func)
{
	return (struct frame){ FILE_PY, func, 1, -1, -1, -1, FRAME_NO_OPCODE };
}

static struct frame synth(uint32_t func)
{
	return (struct frame){ SYNTH, func, FRAME_NO_LINE, -1, -1, -1, FRAME_NO_OPCODE };
}

/* A <native> mark carrying an entry frame's address (cfg.entry_marks). */
static struct frame mark(uint64_t addr)
{
	struct frame f = synth(NATIVE_MARK);
	f.end_line = (int32_t)(uint32_t)(addr >> 32);
	f.col = (int32_t)(uint32_t)addr;
	return f;
}

static struct py_native_frame nat(uint32_t func, int kind)
{
	return (struct py_native_frame){ { FILE_SO, func, FRAME_NO_LINE, -1, -1, -1,
					   FRAME_NO_OPCODE }, (uint8_t)kind };
}

#define PLAIN PY_NATIVE_PLAIN
#define INTERP PY_NATIVE_INTERP
#define EVAL PY_NATIVE_EVAL
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Merge and compare the funcs of the result (innermost first) with want
 * (0-terminated); rc the expected return. */
static void merge_sps(const struct py_merge_rules *r, const struct frame *pf, uint32_t depth,
		      const struct py_native_frame *nf, const uint64_t *sps, size_t nnf,
		      bool complete, int rc, const uint32_t *want)
{
	struct sample out;
	sample_init(&out);
	uint32_t segs[64];
	struct thread_sample *t = sample_add_thread(&out);
	int got = py_native_merge(r, pf, depth, nf, sps, nnf, complete, segs, &out, t);
	CHECK_EQ_INT(got, rc);
	if (got == 0 && rc == 0) {
		size_t n = 0;
		while (want[n])
			n++;
		CHECK_EQ_INT(t->depth, n);
		for (size_t i = 0; i < n && i < t->depth; i++)
			CHECK_EQ_INT(out.frames[t->first + i].func, want[i]);
	}
	sample_release(&out);
}

static void merge_is(const struct py_merge_rules *r, const struct frame *pf, uint32_t depth,
		     const struct py_native_frame *nf, size_t nnf, bool complete, int rc,
		     const uint32_t *want)
{
	merge_sps(r, pf, depth, nf, NULL, nnf, complete, rc, want);
}

/* 3.12: main() -> list(map(work)) -> work(): two evaluation calls, the
 * walker's <native> mark between them; the plumbing between is hidden, so
 * is everything below main's evaluation call. */
TEST(interp_two_segments)
{
	const struct frame pf[] = { py(101) /* work */, synth(NATIVE_MARK), py(102) /* main */,
				    py(103) /* <module> */ };
	const struct py_native_frame nf[] = {
		nat(200, PLAIN) /* a libc leaf */, nat(201, EVAL),   nat(202, INTERP),
		nat(203, INTERP) /* map_next */,   nat(201, EVAL),   nat(204, INTERP) /* Py_RunMain */,
		nat(205, PLAIN) /* __libc_start_main */,
	};
	const uint32_t want[] = { 200, 101, 102, 103, 0 };
	merge_is(&rules_interp, pf, N(pf), nf, N(nf), true, 0, want);
	/* with plumbing: every native frame but the evaluation loop's */
	struct py_merge_rules all = rules_interp;
	all.plumbing = true;
	const uint32_t want_all[] = { 200, 101, 202, 203, 102, 103, 204, 205, 0 };
	merge_is(&all, pf, N(pf), nf, N(nf), true, 0, want_all);
}

/* A C extension between two Python frames stays where it ran. */
TEST(interp_extension_between)
{
	const struct frame pf[] = { py(101), synth(NATIVE_MARK), py(102) };
	const struct py_native_frame nf[] = { nat(201, EVAL), nat(202, INTERP), nat(210, PLAIN),
					      nat(211, PLAIN), nat(203, INTERP), nat(201, EVAL),
					      nat(205, PLAIN) };
	const uint32_t want[] = { 101, 210, 211, 102, 0 };
	merge_is(&rules_interp, pf, N(pf), nf, N(nf), true, 0, want);
}

/* 3.8-3.10: one evaluation call per Python frame; <GC> rides with the
 * frame below it; <shutdown> stays the root. */
TEST(objects_one_per_frame)
{
	const struct frame pf[] = { synth(GC), py(101), py(102), py(103), synth(SHUTDOWN) };
	const struct py_native_frame nf[] = { nat(220, INTERP) /* collect */, nat(201, EVAL),
					      nat(202, INTERP), nat(201, EVAL), nat(210, PLAIN),
					      nat(201, EVAL), nat(205, PLAIN) };
	const uint32_t want[] = { GC, 101, 102, 210, 103, SHUTDOWN, 0 };
	merge_is(&rules_objects, pf, N(pf), nf, N(nf), true, 0, want);
}

/* The native stack ran off its copy after one evaluation frame: the Python
 * frames it did not reach go below, in order. */
TEST(truncated_keeps_python)
{
	const struct frame pf[] = { py(101), py(102), py(103) };
	const struct py_native_frame nf[] = { nat(210, PLAIN), nat(201, EVAL), nat(202, INTERP) };
	const uint32_t want[] = { 210, 101, 102, 103, 0 };
	merge_is(&rules_objects, pf, N(pf), nf, N(nf), false, 0, want);
}

/* An evaluation call caught before its first frame or after its last: the
 * innermost evaluation frame runs no Python frame. */
TEST(idle_innermost_eval)
{
	const struct frame pf[] = { py(102), py(103) };
	const struct py_native_frame nf[] = { nat(230, INTERP) /* frame clear */, nat(201, EVAL),
					      nat(202, INTERP), nat(210, PLAIN), nat(201, EVAL),
					      nat(201, EVAL), nat(205, PLAIN) };
	const uint32_t want[] = { 210, 102, 103, 0 };
	merge_is(&rules_objects, pf, N(pf), nf, N(nf), true, 0, want);
}

/* Disagreements fail: more evaluation frames than segments (by two), or a
 * complete native stack with fewer. */
TEST(disagreements_fail)
{
	const struct frame pf[] = { py(101), synth(NATIVE_MARK), py(102) };
	const struct py_native_frame three[] = { nat(201, EVAL), nat(201, EVAL), nat(201, EVAL),
						 nat(201, EVAL) };
	merge_is(&rules_interp, pf, N(pf), three, N(three), true, ERR_CORRUPT, NULL);
	merge_is(&rules_interp, pf, N(pf), three, N(three), false, ERR_CORRUPT, NULL);
	const struct py_native_frame one[] = { nat(201, EVAL), nat(205, PLAIN) };
	merge_is(&rules_interp, pf, N(pf), one, N(one), true, ERR_CORRUPT, NULL);
	/* ... but a stack cut short may have fewer: what lies between its
	 * last evaluation frame and where it ends is native code between them */
	const uint32_t want[] = { 101, 205, 102, 0 };
	merge_is(&rules_interp, pf, N(pf), one, N(one), false, 0, want);
}

/* A Python thread with no Python frame (a C thread that took a thread
 * state) shows its native stack, the interpreter's frames still hidden. */
TEST(no_python)
{
	const struct py_native_frame nf[] = { nat(210, PLAIN), nat(202, INTERP), nat(205, PLAIN) };
	const uint32_t want[] = { 210, 205, 0 };
	merge_is(&rules_interp, NULL, 0, nf, N(nf), true, 0, want);
	struct py_merge_rules all = rules_interp;
	all.plumbing = true;
	const uint32_t want_all[] = { 210, 202, 205, 0 };
	merge_is(&all, NULL, 0, nf, N(nf), true, 0, want_all);
}

/* 3.12+ by address: the frames whose stack holds an entry frame ran its
 * segment, named or not (a stripped interpreter's split evaluation loop);
 * the outermost entry frame is marked too; an evaluation call whose entry
 * frame runs no Python frame gets nothing. */
TEST(address_finds_unnamed_calls)
{
	/* innermost first: an idle call's entry frame, work, its entry frame,
	 * main, <module>, their entry frame */
	const struct frame pf[] = { mark(0x7000100), py(101), mark(0x7000500), py(102),
				    py(103), mark(0x7000900) };
	const struct py_native_frame nf[] = {
		nat(230, INTERP), nat(240, INTERP) /* idle call, unnamed */, nat(210, PLAIN),
		nat(241, INTERP) /* unnamed */, nat(202, INTERP), nat(201, EVAL) /* named */,
		nat(204, INTERP), nat(205, PLAIN),
	};
	const uint64_t sps[] = { 0x7000000, 0x7000080, 0x7000200, 0x7000480, 0x7000600,
				 0x7000880, 0x7000a00, 0x7000b00 };
	/* 210 is C code that work() called and that entered the idle call */
	const uint32_t want[] = { 210, 101, 102, 103, 0 };
	merge_sps(&rules_addr, pf, N(pf), nf, sps, N(nf), true, 0, want);
	/* cut short before the outer call: its frames below */
	merge_sps(&rules_addr, pf, N(pf), nf, sps, 5, false, 0, want);
	/* a whole stack whose frames hold no entry frame disagrees */
	const uint64_t none[] = { 0x7000000, 0x7000010, 0x7000020, 0x7000030, 0x7000040,
				  0x7000050, 0x7000060, 0x7000070 };
	merge_sps(&rules_addr, pf, N(pf), nf, none, N(nf) - 1, true, ERR_CORRUPT, NULL);
	/* two entry frames in one native frame's stack disagree */
	const uint64_t two[] = { 0x7000000, 0x7000080, 0x7000200, 0x7000480, 0x7000a00,
				 0x7000a80, 0x7000b00, 0x7000c00 };
	merge_sps(&rules_addr, pf, N(pf), nf, two, N(nf), true, ERR_CORRUPT, NULL);
	/* an entry frame below the innermost stack pointer is in no frame */
	const uint64_t below[] = { 0x7000200, 0x7000280, 0x7000300, 0x7000480, 0x7000600,
				   0x7000880, 0x7000a00, 0x7000b00 };
	merge_sps(&rules_addr, pf, N(pf), nf, below, N(nf), true, ERR_CORRUPT, NULL);
}

int main(void)
{
	RUN(interp_two_segments);
	RUN(interp_extension_between);
	RUN(objects_one_per_frame);
	RUN(truncated_keeps_python);
	RUN(idle_innermost_eval);
	RUN(disagreements_fail);
	RUN(no_python);
	RUN(address_finds_unnamed_calls);
	return harness_done();
}
