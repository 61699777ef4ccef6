/* test_layout.c - sanity of the generated per-version tables (src/py/layouts/).
 *
 * The numbers themselves come from offsetof/sizeof in tools/layout_probe.c;
 * these checks catch a probe that forgot a field (it would read as 0), an
 * enum that disagrees with the fields present, or a table with gaps.
 */
#include "harness.h"

#include "py/layout.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define ALL_FROM 8
#define ALL_TO 99

/* Which minor versions have each u32 field (PY_ABSENT everywhere else). */
struct field_range {
	const char *name;
	size_t off;
	int first, last;
};

#define F(field, first, last) { #field, offsetof(struct py_layout, field), first, last }
static const struct field_range u32_fields[] = {
	/* dump --locals (src/py/locals.c) */
	F(fo_localsplus, 8, 10),
	F(co_nlocals, 8, 10),
	F(co_varnames, 8, 10),
	F(co_cellvars, 8, 10),
	F(co_freevars, 8, 10),
	F(co_localsplusnames, 11, ALL_TO),
	F(co_localspluskinds, 11, ALL_TO),
	F(tuple_items, ALL_FROM, ALL_TO),
	F(float_fval, ALL_FROM, ALL_TO),
	F(cell_ref, ALL_FROM, ALL_TO),
	F(tp_name, ALL_FROM, ALL_TO),
	F(dict_used, ALL_FROM, ALL_TO),
	F(long_digits, ALL_FROM, ALL_TO),
	F(rt_interpreters_head, ALL_FROM, ALL_TO),
	F(rt_main_thread, ALL_FROM, ALL_TO),
	F(is_size, ALL_FROM, ALL_TO),
	F(is_next, ALL_FROM, ALL_TO),
	F(is_id, ALL_FROM, ALL_TO),
	F(is_threads_head, ALL_FROM, ALL_TO),
	F(is_threads_main, 13, ALL_TO),
	F(ts_size, ALL_FROM, ALL_TO),
	F(ts_next, ALL_FROM, ALL_TO),
	F(ts_interp, ALL_FROM, ALL_TO),
	F(ts_thread_id, ALL_FROM, ALL_TO),
	F(ts_native_thread_id, 11, ALL_TO),
	F(ts_frame, 8, 10),
	F(ts_cframe, 11, 12),
	F(cframe_current_frame, 11, 12),
	F(ts_current_frame, 13, ALL_TO),
	F(ts_datastack_chunk, 11, ALL_TO),
	F(ts_datastack_top, 11, ALL_TO),
	F(fo_back, 8, 10),
	F(fo_code, 8, 10),
	F(fo_lasti, 8, 10),
	F(fo_globals, 8, 10),
	F(fo_state, 8, 10),
	F(if_size, 11, ALL_TO),
	F(if_previous, 11, ALL_TO),
	F(if_executable, 11, ALL_TO),
	F(if_ip, 11, ALL_TO),
	F(if_owner, 11, ALL_TO),
	F(if_is_entry, 11, 11),
	F(if_globals, 11, ALL_TO),
	F(if_stacktop, 11, 13),
	F(chunk_previous, 11, ALL_TO),
	F(chunk_size, 11, ALL_TO),
	F(chunk_top, 11, ALL_TO),
	F(chunk_data, 11, ALL_TO),
	F(co_size, ALL_FROM, ALL_TO),
	F(co_filename, ALL_FROM, ALL_TO),
	F(co_name, ALL_FROM, ALL_TO),
	F(co_qualname, 11, ALL_TO),
	F(co_firstlineno, ALL_FROM, ALL_TO),
	F(co_linetable, ALL_FROM, ALL_TO),
	F(co_code_adaptive, 11, ALL_TO),
	F(co_code, 8, 10),
	F(co_framesize, 12, ALL_TO),
	F(co_nlocalsplus, 11, ALL_TO),
	F(co_stacksize, 11, ALL_TO),
	F(co_flags, 11, ALL_TO),
	F(co_gen_flags, 11, ALL_TO),
	F(ob_type, ALL_FROM, ALL_TO),
	F(ob_size, ALL_FROM, ALL_TO),
	F(u_length, ALL_FROM, ALL_TO),
	F(u_state, ALL_FROM, ALL_TO),
	F(u_ascii_data, ALL_FROM, ALL_TO),
	F(u_compact_data, ALL_FROM, ALL_TO),
	F(b_sval, ALL_FROM, ALL_TO),
	/* thread status and GC state (docs/thread-status.md) */
	F(rt_gil, 8, 11),
	F(rt_tstate_current, 8, 11),
	F(rt_gil_drop_request, 8, 8),
	F(rt_gc, 8, 8),
	F(is_gil_ptr, 12, ALL_TO),
	F(is_gil, 12, ALL_TO),
	F(is_gil_drop_request, 9, 12),
	F(is_gc, 9, ALL_TO),
	F(gil_locked, ALL_FROM, ALL_TO),
	F(gil_last_holder, ALL_FROM, ALL_TO),
	F(gil_switch_number, ALL_FROM, ALL_TO),
	F(gil_cond, ALL_FROM, ALL_TO),
	F(gil_switch_cond, ALL_FROM, ALL_TO),
	F(ts_holds_gil, 13, ALL_TO),
	F(ts_gil_requested, 15, ALL_TO),
	F(ts_eval_breaker, 13, ALL_TO),
	F(ts_current_exception, ALL_FROM, ALL_TO),
	F(ts_exc_info, ALL_FROM, ALL_TO),
	F(ts_exc_state, ALL_FROM, ALL_TO),
	F(exc_type, 8, 10),
	F(exc_value, ALL_FROM, ALL_TO),
	F(exc_previous, ALL_FROM, ALL_TO),
	F(gc_collecting, ALL_FROM, ALL_TO),
	F(gc_frame, 15, ALL_TO),
	F(rt_finalizing, ALL_FROM, ALL_TO),
	F(is_finalizing, 12, ALL_TO),
	/* asyncio introspection (--async-aware) */
	F(set_used, ALL_FROM, ALL_TO),
	F(set_mask, ALL_FROM, ALL_TO),
	F(set_table, ALL_FROM, ALL_TO),
	F(setentry_size, ALL_FROM, ALL_TO),
	F(setentry_key, ALL_FROM, ALL_TO),
	F(setentry_hash, ALL_FROM, ALL_TO),
	F(tp_flags, ALL_FROM, ALL_TO),
	F(long_lv_tag, 12, ALL_TO),
	F(long_ob_digit, 12, ALL_TO),
	F(gen_iframe, 14, ALL_TO),
	F(gen_frame_state, 14, ALL_TO),
	F(if_stackpointer, 14, ALL_TO),
	F(llist_next, 14, ALL_TO),
	F(llist_prev, 14, ALL_TO),
	F(ts_impl_size, 14, ALL_TO),
	F(ts_asyncio_running_loop, 14, ALL_TO),
	F(ts_asyncio_running_task, 14, ALL_TO),
	F(ts_asyncio_tasks_head, 14, ALL_TO),
	F(is_asyncio_tasks_head, 14, ALL_TO),
};
#undef F

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static uint32_t u32_at(const void *base, size_t off)
{
	uint32_t v;

	memcpy(&v, (const char *)base + off, sizeof(v));
	return v;
}

/* Fields that are the first member of their struct in some version. */
static int may_be_zero(const char *field)
{
	static const char *const first_members[] = {
		"is_next",              /* PyInterpreterState 3.8-3.12 */
		"cframe_current_frame", /* _PyCFrame 3.12 */
		"if_executable",        /* _PyInterpreterFrame 3.12+ */
		"chunk_previous",       /* _PyStackChunk */
		"exc_type",             /* _PyErr_StackItem 3.8-3.10 */
		"exc_value",            /* _PyErr_StackItem 3.11+ */
		"setentry_key",         /* setentry */
		"llist_next",           /* struct llist_node */
	};

	for (size_t i = 0; i < NELEM(first_members); i++)
		if (!strcmp(field, first_members[i]))
			return 1;
	return 0;
}

static int range_min, range_max;

#define FOR_EACH_LAYOUT(l)                                                  \
	for (int minor_ = range_min; minor_ <= range_max; minor_++)             \
		for (const struct py_layout *l = py_layout_find(3, minor_); l; l = NULL)

TEST(range_and_lookup)
{
	CHECK_EQ_INT(range_min, 8);
	CHECK(range_max >= 15);
	CHECK(py_layout_find(3, 7) == NULL);
	CHECK(py_layout_find(3, range_max + 1) == NULL);
	CHECK(range_max >= 16 || py_layout_find(3, 16) == NULL);
	CHECK(py_layout_find(2, 8) == NULL);
	CHECK(py_layout_find(4, 0) == NULL);
	CHECK(py_debug_map_find(3, 7) == NULL);
	CHECK(py_debug_map_find(3, range_max + 1) == NULL);
	/* No gaps: every minor in the range has its own table. */
	for (int minor = range_min; minor <= range_max; minor++) {
		const struct py_layout *l = py_layout_find(3, minor);

		CHECK(l != NULL);
		if (l) {
			CHECK_EQ_INT(l->major, 3);
			CHECK_EQ_INT(l->minor, minor);
		}
	}
}

TEST(fields_present_exactly_where_they_exist)
{
	/* The table above lists every u32 of struct py_layout: besides them
	 * there are five runs of u8 fields (14 enums, owners and f_state
	 * values at the top, 3 unicode bit positions, 2 thread-status bit
	 * positions, 8 asyncio bits and states, 7 of dump --locals' kinds,
	 * tags and flags), each padded to the next u32. */
	CHECK_EQ_INT(sizeof(struct py_layout), NELEM(u32_fields) * 4 + 16 + 4 + 4 + 8 + 8);
	FOR_EACH_LAYOUT(l) {
		for (size_t i = 0; i < NELEM(u32_fields); i++) {
			const struct field_range *f = &u32_fields[i];
			uint32_t v = u32_at(l, f->off);
			int want = l->minor >= f->first && l->minor <= f->last;

			if (want != (v != PY_ABSENT))
				fprintf(stderr, "3.%d %s = %#x\n", l->minor, f->name, (unsigned)v);
			CHECK(want == (v != PY_ABSENT));
			/* Nothing in these structs is anywhere near 16 MiB. */
			CHECK(v == PY_ABSENT || v < (1u << 24));
			/* A field the probe forgot reads as 0. */
			if (v == 0 && !may_be_zero(f->name))
				fprintf(stderr, "3.%d %s = 0\n", l->minor, f->name);
			CHECK(v != 0 || may_be_zero(f->name));
		}
	}
}

TEST(enums_consistent)
{
	FOR_EACH_LAYOUT(l) {
		int objects = l->frame_model == PY_FRAMES_OBJECTS;
		int interp = l->frame_model == PY_FRAMES_INTERP;

		CHECK(objects || interp);
		if (objects) {
			CHECK(l->linetable_kind == PY_LT_LNOTAB || l->linetable_kind == PY_LT_LINETABLE);
			CHECK(l->ip_kind == PY_IP_LASTI_BYTES || l->ip_kind == PY_IP_LASTI_UNITS);
			/* 3.10 moved to co_linetable and code-unit f_lasti together. */
			CHECK((l->linetable_kind == PY_LT_LINETABLE) == (l->ip_kind == PY_IP_LASTI_UNITS));
			CHECK(l->ts_frame != PY_ABSENT);
			CHECK(l->fo_back != PY_ABSENT && l->fo_code != PY_ABSENT && l->fo_lasti != PY_ABSENT);
			CHECK(l->co_code != PY_ABSENT);
			CHECK(l->if_previous == PY_ABSENT);
			CHECK_EQ_INT(l->owner_thread, PY_OWNER_NONE);
			CHECK_EQ_INT(l->owner_generator, PY_OWNER_NONE);
			CHECK_EQ_INT(l->owner_frame_object, PY_OWNER_NONE);
			CHECK_EQ_INT(l->owner_cstack, PY_OWNER_NONE);
		}
		if (interp) {
			CHECK_EQ_INT(l->linetable_kind, PY_LT_LOCATIONS);
			CHECK(l->ip_kind == PY_IP_PREV_INSTR || l->ip_kind == PY_IP_INSTR_PTR);
			/* The top frame hangs off cframe (prev_instr era) or tstate. */
			if (l->ip_kind == PY_IP_PREV_INSTR)
				CHECK(l->ts_cframe != PY_ABSENT && l->cframe_current_frame != PY_ABSENT &&
				      l->ts_current_frame == PY_ABSENT);
			else
				CHECK(l->ts_current_frame != PY_ABSENT && l->ts_cframe == PY_ABSENT);
			CHECK(l->ts_frame == PY_ABSENT && l->fo_back == PY_ABSENT);
			CHECK(l->if_previous != PY_ABSENT && l->if_executable != PY_ABSENT &&
			      l->if_ip != PY_ABSENT && l->if_owner != PY_ABSENT);
			CHECK(l->co_code_adaptive != PY_ABSENT && l->co_code == PY_ABSENT);
			CHECK(l->co_qualname != PY_ABSENT);
			/* Owners are small, distinct enum values. */
			CHECK(l->owner_thread != PY_OWNER_NONE && l->owner_generator != PY_OWNER_NONE &&
			      l->owner_frame_object != PY_OWNER_NONE);
			CHECK(l->owner_thread != l->owner_generator &&
			      l->owner_thread != l->owner_frame_object &&
			      l->owner_generator != l->owner_frame_object);
			if (l->owner_cstack != PY_OWNER_NONE) {
				CHECK(l->owner_cstack != l->owner_thread &&
				      l->owner_cstack != l->owner_generator &&
				      l->owner_cstack != l->owner_frame_object);
				CHECK(l->owner_cstack < 8);
			}
		}
		/* 3.11 marks C entry frames with is_entry, every later version
		 * with an owner value; instr_ptr arrived after that. */
		if (l->ip_kind == PY_IP_INSTR_PTR)
			CHECK(l->owner_cstack != PY_OWNER_NONE);
		/* A tag mask clears low bits of an 8-aligned pointer only. */
		CHECK(l->executable_tag_mask < 8);
		CHECK((l->executable_tag_mask & (l->executable_tag_mask + 1)) == 0);
		if (l->executable_tag_mask)
			CHECK(l->ip_kind == PY_IP_INSTR_PTR);
	}
}

TEST(live_kind_consistent)
{
	FOR_EACH_LAYOUT(l) {
		switch (l->live_kind) {
		case PY_LIVE_EXECUTING:
		case PY_LIVE_FRAME_STATE:
			CHECK(l->frame_model == PY_FRAMES_OBJECTS && l->fo_state != PY_ABSENT);
			break;
		case PY_LIVE_CALL_CACHE:
			/* only prev_instr stops inside a call's inline caches */
			CHECK(l->ip_kind == PY_IP_PREV_INSTR && l->if_is_entry != PY_ABSENT);
			break;
		case PY_LIVE_STACKTOP:
			CHECK(l->frame_model == PY_FRAMES_INTERP && l->if_stacktop != PY_ABSENT);
			break;
		case PY_LIVE_CLEARED:
			CHECK(l->frame_model == PY_FRAMES_INTERP && l->if_stacktop == PY_ABSENT);
			break;
		default:
			CHECK(0);
		}
		/* running and unwinding are two different f_state values (3.10) */
		if (l->live_kind == PY_LIVE_FRAME_STATE)
			CHECK(l->fo_state_executing != l->fo_state_unwinding);
		else
			CHECK(l->fo_state_executing == 0 && l->fo_state_unwinding == 0);
		/* a frame's size is known wherever frames are on a data stack */
		if (l->frame_model == PY_FRAMES_INTERP)
			CHECK(l->co_nlocalsplus != PY_ABSENT && l->co_stacksize != PY_ABSENT);
		/* the kind only moves forward with the version */
		if (l->minor > range_min) {
			const struct py_layout *prev = py_layout_find(3, l->minor - 1);

			CHECK(prev && prev->live_kind <= l->live_kind);
		}
	}
}

TEST(gil_model_consistent)
{
	FOR_EACH_LAYOUT(l) {
		CHECK(l->gil_model == PY_GIL_RUNTIME || l->gil_model == PY_GIL_INTERP ||
		      l->gil_model == PY_GIL_THREAD);
		/* The GIL struct is in _PyRuntime or behind interp->ceval.gil,
		 * never both; the per-thread flag needs neither. */
		CHECK((l->rt_gil != PY_ABSENT) != (l->is_gil_ptr != PY_ABSENT));
		CHECK((l->is_gil_ptr != PY_ABSENT) == (l->is_gil != PY_ABSENT));
		switch (l->gil_model) {
		case PY_GIL_RUNTIME:
			CHECK(l->rt_gil != PY_ABSENT && l->rt_tstate_current != PY_ABSENT);
			CHECK(l->ts_holds_gil == PY_ABSENT);
			break;
		case PY_GIL_INTERP:
			CHECK(l->is_gil_ptr != PY_ABSENT && l->rt_tstate_current == PY_ABSENT);
			CHECK(l->ts_holds_gil == PY_ABSENT);
			break;
		case PY_GIL_THREAD:
			CHECK(l->ts_holds_gil != PY_ABSENT);
			/* the GIL struct stays reachable (cross-checks, waiters) */
			CHECK(l->is_gil_ptr != PY_ABSENT);
			break;
		}
		/* The model only moves forward with the version. */
		if (l->minor > range_min) {
			const struct py_layout *prev = py_layout_find(3, l->minor - 1);

			CHECK(prev && prev->gil_model <= l->gil_model);
		}
		CHECK(l->ts_holds_gil_bit < 32);
		CHECK(l->ts_holds_gil != PY_ABSENT || l->ts_holds_gil_bit == 0);
		CHECK(l->ts_gil_drop_bit < 64);
		CHECK(l->ts_eval_breaker != PY_ABSENT || l->ts_gil_drop_bit == 0);
		/* who asks for the GIL to be dropped: runtime (3.8), interpreter
		 * (3.9-3.12) or the holder's eval_breaker (3.13+), one of them */
		CHECK((l->rt_gil_drop_request != PY_ABSENT) + (l->is_gil_drop_request != PY_ABSENT) +
		      (l->ts_eval_breaker != PY_ABSENT) == 1);
		/* a waiter flag only makes sense next to a holder flag */
		CHECK(l->ts_gil_requested == PY_ABSENT || l->ts_holds_gil != PY_ABSENT);
		/* GC state: in _PyRuntime (3.8) or per interpreter, never both */
		CHECK((l->rt_gc != PY_ABSENT) != (l->is_gc != PY_ABSENT));
		/* 3.11 reduced _PyErr_StackItem to exc_value, with the
		 * interpreter frames */
		CHECK((l->exc_type != PY_ABSENT) == (l->frame_model == PY_FRAMES_OBJECTS));
		/* gc.frame points at an interpreter frame */
		CHECK(l->gc_frame == PY_ABSENT || l->frame_model == PY_FRAMES_INTERP);
	}
}

TEST(offsets_inside_their_structs)
{
	FOR_EACH_LAYOUT(l) {
		CHECK(l->is_next < l->is_size && l->is_id < l->is_size);
		CHECK(l->is_threads_head < l->is_size);
		CHECK(l->is_threads_main == PY_ABSENT || l->is_threads_main < l->is_size);
		CHECK(l->ts_next < l->ts_size && l->ts_interp < l->ts_size);
		CHECK(l->ts_thread_id < l->ts_size);
		CHECK(l->ts_native_thread_id == PY_ABSENT || l->ts_native_thread_id < l->ts_size);
		CHECK(l->ts_current_frame == PY_ABSENT || l->ts_current_frame < l->ts_size);
		CHECK(l->ts_datastack_top == PY_ABSENT ||
		      l->ts_datastack_top == l->ts_datastack_chunk + 8);
		if (l->frame_model == PY_FRAMES_INTERP) {
			CHECK(l->if_previous < l->if_size && l->if_executable < l->if_size);
			CHECK(l->if_ip < l->if_size && l->if_owner < l->if_size);
			CHECK(l->if_size % 8 == 0);
			CHECK(l->chunk_data > l->chunk_top && l->chunk_top > l->chunk_size);
			/* co_size is "up to the inline bytecode". */
			CHECK_EQ_INT(l->co_size, l->co_code_adaptive);
		}
		/* thread status */
		CHECK(l->is_gil_ptr == PY_ABSENT || l->is_gil_ptr + 8 <= l->is_size);
		CHECK(l->is_gil == PY_ABSENT || l->is_gil + l->gil_switch_cond < l->is_size);
		CHECK(l->is_gil_drop_request == PY_ABSENT || l->is_gil_drop_request < l->is_size);
		CHECK(l->is_gc == PY_ABSENT || l->is_gc + l->gc_collecting < l->is_size);
		/* struct _gil_runtime_state: interval, last_holder, locked,
		 * switch_number, cond, mutex, switch_cond, switch_mutex */
		CHECK(l->gil_last_holder < l->gil_locked && l->gil_locked < l->gil_switch_number);
		CHECK(l->gil_switch_number < l->gil_cond && l->gil_cond < l->gil_switch_cond);
		CHECK(l->gil_last_holder % 8 == 0 && l->gil_locked % 4 == 0);
		CHECK(l->ts_holds_gil == PY_ABSENT || l->ts_holds_gil + 4 <= l->ts_size);
		CHECK(l->ts_gil_requested == PY_ABSENT || l->ts_gil_requested + 4 <= l->ts_size);
		CHECK(l->ts_eval_breaker == PY_ABSENT || l->ts_eval_breaker + 8 <= l->ts_size);
		CHECK(l->ts_current_exception + 8 <= l->ts_size && l->ts_exc_info + 8 <= l->ts_size);
		/* the bottom exception-stack item lies whole in the thread state,
		 * so the common case needs no read besides the thread state's */
		CHECK(l->ts_exc_state + l->exc_previous + 8 <= l->ts_size);
		CHECK(l->ts_exc_info != l->ts_exc_state);
		/* _PyErr_StackItem: the value(s), then previous_item */
		CHECK(l->exc_value < l->exc_previous && l->exc_previous % 8 == 0);
		CHECK(l->exc_type == PY_ABSENT || l->exc_type < l->exc_value);
		/* 3.15: _PyInterpreterFrame *frame follows int collecting */
		CHECK(l->gc_frame == PY_ABSENT || l->gc_frame == l->gc_collecting + 8);
		/* shutdown: interp->_finalizing lies right before gc (the probe
		 * asserts it), so the published is_gc vouches for it */
		CHECK(l->rt_finalizing % 8 == 0 && l->rt_finalizing < l->rt_interpreters_head);
		CHECK(l->is_finalizing == PY_ABSENT ||
		      (l->is_finalizing % 8 == 0 && l->is_finalizing < l->is_gc &&
		       l->is_gc - l->is_finalizing <= 16));
		CHECK(l->co_filename < l->co_size && l->co_name < l->co_size);
		CHECK(l->co_firstlineno < l->co_size && l->co_linetable < l->co_size);
		CHECK_EQ_INT(l->ob_type, 8);
		CHECK_EQ_INT(l->ob_size, 16);
		CHECK(l->b_sval > l->ob_size);
		CHECK(l->u_length < l->u_state && l->u_state < l->u_ascii_data);
		CHECK(l->u_ascii_data < l->u_compact_data);
		CHECK(l->u_kind_shift + 3 <= 32 && l->u_compact_shift < 32 && l->u_ascii_shift < 32);
		/* kind (3 bits), compact, ascii never overlap. */
		{
			uint32_t kind = 7u << l->u_kind_shift, compact = 1u << l->u_compact_shift;
			uint32_t ascii = 1u << l->u_ascii_shift;

			CHECK((kind & compact) == 0 && (kind & ascii) == 0 && (compact & ascii) == 0);
		}
	}
}

/* Every u32 of struct py_debug_map, for walking it generically. */
static const struct {
	const char *name;
	size_t off;
} map_fields[] = {
#define M(field) { #field, offsetof(struct py_debug_map, field) }
	M(version), M(free_threaded), M(rt_interpreters_head),
	M(is_size), M(is_id), M(is_next), M(is_threads_head), M(is_threads_main),
	M(ts_size), M(ts_next), M(ts_interp), M(ts_current_frame), M(ts_thread_id),
	M(ts_native_thread_id), M(ts_datastack_chunk),
	M(if_size), M(if_previous), M(if_executable), M(if_ip), M(if_owner),
	M(co_size), M(co_filename), M(co_name), M(co_qualname), M(co_linetable),
	M(co_firstlineno), M(co_code_adaptive),
	M(ob_type), M(b_ob_size), M(b_sval), M(u_length), M(u_ascii_data),
	M(is_gil_ptr), M(is_gil), M(is_gc), M(gil_locked), M(gil_last_holder),
	M(ts_holds_gil), M(ts_gil_requested), M(ts_current_exception), M(ts_exc_state),
	M(exc_value), M(gc_collecting), M(gc_frame), M(rt_finalizing),
	M(tp_flags), M(long_lv_tag), M(long_ob_digit), M(set_used), M(set_mask), M(set_table),
	M(gen_iframe), M(gen_frame_state), M(if_stackpointer), M(llist_next), M(llist_prev),
#undef M
};

/* _Py_DebugOffsets entries a version does not publish. */
static int map_may_be_absent(const char *field, int minor)
{
	static const struct {
		const char *name;
		int last; /* missing up to this minor */
	} late[] = {
		{ "is_threads_main", 13 },
		{ "ts_gil_requested", 14 },
		{ "ts_current_exception", 14 },
		{ "ts_exc_state", 14 },
		{ "exc_value", 14 },
		{ "gc_frame", 14 },
		{ "set_used", 13 },
		{ "set_mask", 13 },
		{ "set_table", 13 },
		{ "gen_iframe", 13 },
		{ "gen_frame_state", 13 },
		{ "if_stackpointer", 13 },
		{ "llist_next", 13 },
		{ "llist_prev", 13 },
	};

	/* 3.14 moved holds_gil out of _status into an int it does not
	 * publish; 3.15 publishes that int */
	if (!strcmp(field, "ts_holds_gil"))
		return minor == 14;
	for (size_t i = 0; i < NELEM(late); i++)
		if (!strcmp(field, late[i].name))
			return minor <= late[i].last;
	return 0;
}

TEST(debug_maps)
{
	CHECK_EQ_INT(NELEM(map_fields) * sizeof(uint32_t) + sizeof(uint32_t),
	             sizeof(struct py_debug_map));
	FOR_EACH_LAYOUT(l) {
		const struct py_debug_map *m = py_debug_map_find(3, l->minor);

		/* _Py_DebugOffsets exists exactly from the instr_ptr era (3.13). */
		CHECK((m != NULL) == (l->ip_kind == PY_IP_INSTR_PTR));
		if (!m)
			continue;
		/* char cookie[8]; u64 version; u64 free_threaded; then the groups */
		CHECK_EQ_INT(m->version, 8);
		CHECK_EQ_INT(m->free_threaded, 16);
		CHECK(m->struct_size >= 24 && m->struct_size % 8 == 0);
		for (size_t i = 0; i < NELEM(map_fields); i++) {
			uint32_t pos = u32_at(m, map_fields[i].off);

			if (pos == PY_ABSENT) {
				CHECK(map_may_be_absent(map_fields[i].name, l->minor));
				continue;
			}
			CHECK(pos % 8 == 0);
			CHECK(pos + 8 <= m->struct_size);
			/* Distinct positions, except co_size, which is by design the
			 * co_code_adaptive entry. */
			for (size_t j = 0; j < i; j++)
				if (u32_at(m, map_fields[j].off) == pos)
					CHECK(!strcmp(map_fields[i].name, "co_code_adaptive") &&
					      !strcmp(map_fields[j].name, "co_size"));
		}
		CHECK_EQ_INT(m->co_size, m->co_code_adaptive);
		/* Group order is fixed by CPython: runtime, interp, thread, frame,
		 * code, object, ..., bytes, unicode. */
		CHECK(m->rt_interpreters_head < m->is_size && m->is_size < m->ts_size);
		/* runtime_state: size, finalizing, interpreters_head */
		CHECK(m->rt_finalizing < m->rt_interpreters_head);
		CHECK(m->ts_size < m->if_previous && m->if_owner < m->co_filename);
		CHECK(m->co_code_adaptive < m->ob_type && m->ob_type < m->b_ob_size);
		CHECK(m->b_sval < m->u_length);
		/* ..., unicode, gc; the GIL entries are in the interpreter group,
		 * the exception entries in the thread group */
		CHECK(m->is_size < m->is_gc && m->is_gc < m->ts_size);
		CHECK(m->is_gc < m->is_gil_ptr && m->is_gil_ptr < m->is_gil);
		CHECK(m->is_gil < m->gil_locked && m->gil_last_holder < m->ts_size);
		CHECK(m->gil_locked != m->gil_last_holder);
		CHECK(m->u_ascii_data < m->gc_collecting);
		CHECK(m->gc_frame == PY_ABSENT || m->gc_frame == m->gc_collecting + 8);
		if (m->ts_holds_gil != PY_ABSENT)
			CHECK(m->ts_size < m->ts_holds_gil && m->ts_holds_gil < m->if_previous);
		if (m->ts_exc_state != PY_ABSENT) {
			CHECK(m->ts_holds_gil < m->ts_gil_requested &&
			      m->ts_gil_requested < m->ts_current_exception &&
			      m->ts_current_exception < m->ts_exc_state);
			/* err_stackitem follows the thread group */
			CHECK(m->ts_exc_state < m->exc_value && m->exc_value < m->if_previous);
		}
		/* what the map can cross-check is where the layout has it */
		CHECK((m->ts_holds_gil != PY_ABSENT) <= (l->ts_holds_gil != PY_ABSENT));
		CHECK((m->ts_gil_requested != PY_ABSENT) == (l->ts_gil_requested != PY_ABSENT));
		CHECK((m->gc_frame != PY_ABSENT) == (l->gc_frame != PY_ABSENT));
	}
}

TEST(asyncio_fields)
{
	FOR_EACH_LAYOUT(l) {
		const struct py_asyncio_map *a = py_asyncio_map_find(3, l->minor);
		int has = l->ts_asyncio_tasks_head != PY_ABSENT;

		/* the asyncio fields come as a whole, with the _asyncio map */
		CHECK((a != NULL) == has);
		CHECK((l->gen_iframe != PY_ABSENT) == has && (l->llist_next != PY_ABSENT) == has);
		CHECK((l->is_asyncio_tasks_head != PY_ABSENT) == has);
		CHECK(l->tpflags_long_bit < 64 && l->tpflags_unicode_bit < 64);
		CHECK(l->tpflags_long_bit != l->tpflags_unicode_bit);
		CHECK(l->set_used < l->set_mask || l->set_table < l->set_mask);
		CHECK(l->setentry_size >= 16 && l->setentry_key + 8 <= l->setentry_size);
		CHECK(l->setentry_hash + 8 <= l->setentry_size && l->setentry_hash != l->setentry_key);
		CHECK(l->long_lv_tag == PY_ABSENT || l->long_ob_digit == l->long_lv_tag + 8);
		CHECK(l->long_shift == 30);
		if (!has) {
			CHECK(l->gen_state_cleared == 0 && l->gen_state_yield_from == 0);
			CHECK(l->gen_yf_slot == 0);
			continue;
		}
		CHECK(l->frame_model == PY_FRAMES_INTERP && l->long_lv_tag != PY_ABSENT);
		CHECK(l->long_non_size_bits > 0 && l->long_sign_mask != 0);
		CHECK(l->gen_state_cleared != l->gen_state_yield_from);
		CHECK(l->gen_yf_slot == 1 || l->gen_yf_slot == 2);
		CHECK(l->gen_frame_state < l->gen_iframe);
		CHECK(l->if_stackpointer + 8 <= l->if_size);
		CHECK_EQ_INT(l->llist_prev, l->llist_next + 8);
		/* _PyThreadStateImpl starts with the PyThreadState */
		CHECK(l->ts_impl_size > l->ts_size);
		CHECK(l->ts_asyncio_running_loop >= l->ts_size);
		CHECK(l->ts_asyncio_running_task + 8 <= l->ts_impl_size);
		CHECK(l->ts_asyncio_tasks_head + 16 <= l->ts_impl_size);
		CHECK(l->is_asyncio_tasks_head + 16 <= l->is_size);
		/* the map: 13 u64 of which the task group comes first */
		CHECK_EQ_INT(a->struct_size, 13 * 8);
		CHECK_EQ_INT(a->task_size, 0);
		CHECK(a->task_node < a->is_size && a->is_size < a->ts_impl_size);
		CHECK(a->ts_asyncio_tasks_head + 8 <= a->struct_size);
	}
	CHECK(py_asyncio_map_find(3, 13) == NULL);
	CHECK(py_asyncio_map_find(3, 14) != NULL);
}

/* Spot values from reference/tachyon.md 4.3 (Debian 3.15.2 build). */
TEST(reference_values_3_15)
{
	const struct py_layout *l = py_layout_find(3, 15);

	CHECK(l != NULL);
	if (!l)
		return;
	CHECK_EQ_INT(l->rt_interpreters_head, 0x3a8);
	CHECK_EQ_INT(l->is_threads_head, 0x1ca8);
	CHECK_EQ_INT(l->is_threads_main, 0x1cb8);
	CHECK_EQ_INT(l->ts_size, 0x378);
	CHECK_EQ_INT(l->ts_native_thread_id, 0xb8);
	CHECK_EQ_INT(l->ts_current_frame, 0x48);
	CHECK_EQ_INT(l->if_owner, 0x4a);
	CHECK_EQ_INT(l->if_ip, 0x38);
	CHECK_EQ_INT(l->co_filename, 0x70);
	CHECK_EQ_INT(l->co_qualname, 0x80);
	CHECK_EQ_INT(l->co_linetable, 0x88);
	CHECK_EQ_INT(l->co_firstlineno, 0x44);
	CHECK_EQ_INT(l->co_code_adaptive, 0xd0);
	CHECK_EQ_INT(l->b_sval, 0x20);
	CHECK_EQ_INT(l->u_ascii_data, 0x28);
	CHECK_EQ_INT(l->u_compact_data, 0x38);
	CHECK_EQ_INT(l->executable_tag_mask, 3);
	CHECK_EQ_INT(l->owner_cstack, 3);
	/* thread status and GC (4.3 thread_state/err_stackitem/gc rows; the
	 * interpreter-relative _gil rows are is_gil + gil_*) */
	CHECK_EQ_INT(l->gil_model, PY_GIL_THREAD);
	CHECK_EQ_INT(l->ts_holds_gil, 0x24);
	CHECK_EQ_INT(l->ts_holds_gil_bit, 0);
	CHECK_EQ_INT(l->ts_gil_requested, 0x28);
	CHECK_EQ_INT(l->ts_current_exception, 0x88);
	CHECK_EQ_INT(l->ts_exc_state, 0x120);
	CHECK_EQ_INT(l->exc_value, 0);
	CHECK_EQ_INT(l->is_gc, 0x1ce8);
	CHECK_EQ_INT(l->gc_collecting, 0x70);
	CHECK_EQ_INT(l->gc_frame, 0x78);
	CHECK_EQ_INT(l->is_gil + l->gil_locked, 0x1e48);
	CHECK_EQ_INT(l->is_gil + l->gil_last_holder, 0x1e40);
}

/* The same rows for 3.13 and 3.14 (Debian 3.13.x / 3.14.10), and the
 * _PyRuntime GIL of the oldest layout. */
TEST(reference_values_thread_status)
{
	const struct py_layout *l13 = py_layout_find(3, 13), *l14 = py_layout_find(3, 14);
	const struct py_layout *l8 = py_layout_find(3, 8);

	CHECK(l13 && l14 && l8);
	if (!l13 || !l14 || !l8)
		return;
	CHECK_EQ_INT(l13->is_gil + l13->gil_locked, 0x1e58);
	CHECK_EQ_INT(l13->is_gil + l13->gil_last_holder, 0x1e50);
	CHECK_EQ_INT(l14->is_gil + l14->gil_locked, 0x1e78);
	CHECK_EQ_INT(l14->is_gil + l14->gil_last_holder, 0x1e70);
	CHECK_EQ_INT(l13->is_gc, 0x1ce8);
	CHECK_EQ_INT(l14->is_gc, 0x1cf0);
	CHECK_EQ_INT(l13->gc_collecting, 0xc8);
	CHECK_EQ_INT(l14->gc_collecting, 0xc0);
	/* 3.13: _status.holds_gil is bit 5 (after initialized, bound,
	 * unbound, bound_gilstate, active); 3.14: an int of its own */
	CHECK_EQ_INT(l13->ts_holds_gil_bit, 5);
	CHECK_EQ_INT(l14->ts_holds_gil_bit, 0);
	CHECK_EQ_INT(l13->ts_gil_drop_bit, 0);
	CHECK_EQ_INT(l8->gil_model, PY_GIL_RUNTIME);
	CHECK_EQ_INT(l8->gil_last_holder, 8);
	CHECK_EQ_INT(l8->gil_locked, 16);
}

int main(void)
{
	py_layout_range(&range_min, &range_max);
	RUN(range_and_lookup);
	RUN(fields_present_exactly_where_they_exist);
	RUN(enums_consistent);
	RUN(live_kind_consistent);
	RUN(gil_model_consistent);
	RUN(offsets_inside_their_structs);
	RUN(debug_maps);
	RUN(asyncio_fields);
	RUN(reference_values_3_15);
	RUN(reference_values_thread_status);
	return harness_done();
}
