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
	F(if_size, 11, ALL_TO),
	F(if_previous, 11, ALL_TO),
	F(if_executable, 11, ALL_TO),
	F(if_ip, 11, ALL_TO),
	F(if_owner, 11, ALL_TO),
	F(if_globals, 11, ALL_TO),
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
	F(ob_type, ALL_FROM, ALL_TO),
	F(ob_size, ALL_FROM, ALL_TO),
	F(u_length, ALL_FROM, ALL_TO),
	F(u_state, ALL_FROM, ALL_TO),
	F(u_ascii_data, ALL_FROM, ALL_TO),
	F(u_compact_data, ALL_FROM, ALL_TO),
	F(b_sval, ALL_FROM, ALL_TO),
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
	 * there are 13 u8 fields and less than 4 bytes of padding. */
	CHECK(sizeof(struct py_layout) - (NELEM(u32_fields) * 4 + 13) < 4);
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
#undef M
};

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
				/* Only threads_main may be missing (3.13). */
				CHECK_STR(map_fields[i].name, "is_threads_main");
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
		CHECK(m->ts_size < m->if_previous && m->if_owner < m->co_filename);
		CHECK(m->co_code_adaptive < m->ob_type && m->ob_type < m->b_ob_size);
		CHECK(m->b_sval < m->u_length);
	}
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
}

int main(void)
{
	py_layout_range(&range_min, &range_max);
	RUN(range_and_lookup);
	RUN(fields_present_exactly_where_they_exist);
	RUN(enums_consistent);
	RUN(offsets_inside_their_structs);
	RUN(debug_maps);
	RUN(reference_values_3_15);
	return harness_done();
}
