/* test_opcodes.c - py/opcodes: per-version opcode names, bases, caches, and
 * Tachyon's display text.
 *
 * The expected values below were read from each interpreter (opcode.opmap,
 * dis._all_opmap / opcode._specialized_opmap, dis._deoptop,
 * opcode._inline_cache_entries), not from the generated headers;
 * tools/check_opcodes.py checks every entry of the headers the same way. */
#include "harness.h"
#include "py/opcodes.h"

#include <string.h>

#define MIN_MINOR 8
#define MAX_MINOR 15

struct spot {
	int minor, op;
	const char *name;
	int base, caches;
};

static const struct spot spots[] = {
	/* 3.8-3.10: no specialization, numbering stable for these */
	{ 8, 23, "BINARY_ADD", 23, 0 },
	{ 8, 106, "LOAD_ATTR", 106, 0 },
	{ 8, 131, "CALL_FUNCTION", 131, 0 },
	{ 8, 160, "LOAD_METHOD", 160, 0 },
	{ 9, 23, "BINARY_ADD", 23, 0 },
	{ 9, 144, "EXTENDED_ARG", 144, 0 },
	{ 10, 83, "RETURN_VALUE", 83, 0 },
	{ 10, 124, "LOAD_FAST", 124, 0 },
	/* 3.11: specialized opcodes fill the free slots; *_ADAPTIVE forms exist */
	{ 11, 0, "CACHE", 0, 0 },
	{ 11, 122, "BINARY_OP", 122, 1 },
	{ 11, 3, "BINARY_OP_ADAPTIVE", 122, 1 },
	{ 11, 5, "BINARY_OP_ADD_INT", 122, 1 },
	{ 11, 40, "LOAD_ATTR_INSTANCE_VALUE", 106, 4 },
	{ 11, 23, "CALL_PY_EXACT_ARGS", 171, 4 },
	{ 11, 55, "LOAD_GLOBAL_MODULE", 116, 5 },
	{ 11, 34, "EXTENDED_ARG_QUICK", 144, 0 },
	{ 11, 160, "LOAD_METHOD", 160, 10 },
	{ 11, 166, "PRECALL", 166, 1 },
	/* 3.12: INSTRUMENTED_* at 237-254 */
	{ 12, 7, "BINARY_OP_ADD_INT", 122, 1 },
	{ 12, 73, "LOAD_ATTR_INSTANCE_VALUE", 106, 9 },
	{ 12, 23, "CALL_PY_EXACT_ARGS", 171, 3 },
	{ 12, 112, "LOAD_GLOBAL_MODULE", 116, 4 },
	{ 12, 64, "FOR_ITER_RANGE", 93, 1 },
	{ 12, 17, "RESERVED", 17, 0 },
	{ 12, 241, "INSTRUMENTED_CALL", 241, 3 }, /* CALL's caches */
	{ 12, 254, "INSTRUMENTED_LINE", 254, 0 },
	/* 3.13: renumbered (HAVE_ARGUMENT 44), specialized ops after the base ones */
	{ 13, 45, "BINARY_OP", 45, 1 },
	{ 13, 151, "BINARY_OP_ADD_INT", 45, 1 },
	{ 13, 193, "LOAD_ATTR_INSTANCE_VALUE", 82, 9 },
	{ 13, 177, "CALL_PY_EXACT_ARGS", 53, 3 },
	{ 13, 207, "RESUME_CHECK", 149, 0 },
	{ 13, 70, "ENTER_EXECUTOR", 70, 0 },
	{ 13, 77, "JUMP_BACKWARD", 77, 1 },
	{ 13, 244, "INSTRUMENTED_CALL", 244, 3 },
	{ 13, 254, "INSTRUMENTED_LINE", 254, 0 },
	/* 3.14: BINARY_OP grows to 5 caches; ENTER_EXECUTOR moves to 255 */
	{ 14, 130, "BINARY_OP_ADD_INT", 44, 5 },
	{ 14, 180, "LOAD_ATTR_INSTANCE_VALUE", 80, 9 },
	{ 14, 161, "CALL_PY_EXACT_ARGS", 52, 3 },
	{ 14, 86, "LOAD_FAST_BORROW", 86, 0 },
	{ 14, 175, "JUMP_BACKWARD_JIT", 75, 1 },
	{ 14, 255, "ENTER_EXECUTOR", 255, 0 },
	{ 14, 250, "INSTRUMENTED_CALL", 250, 3 },
	/* 3.15: RESUME gets a cache; TRACE_RECORD at 255 */
	{ 15, 130, "BINARY_OP_ADD_INT", 42, 5 },
	{ 15, 186, "LOAD_ATTR_INSTANCE_VALUE", 79, 9 },
	{ 15, 164, "CALL_PY_EXACT_ARGS", 50, 3 },
	{ 15, 200, "RESUME_CHECK", 128, 1 },
	{ 15, 254, "ENTER_EXECUTOR", 254, 0 },
	{ 15, 255, "TRACE_RECORD", 255, 0 },
	{ 15, 249, "INSTRUMENTED_CALL", 249, 3 },
	{ 15, 253, "INSTRUMENTED_LINE", 253, 0 },
};

/* Opcodes 0-255 each interpreter names (len of its named table), and how
 * many of them are specialized. */
static const struct {
	int minor, named, specialized;
} counts[] = {
	{ 8, 120, 0 },   { 9, 119, 0 },   { 10, 127, 0 },  { 11, 181, 71 },
	{ 12, 193, 64 }, { 13, 212, 74 }, { 14, 227, 84 }, { 15, 234, 91 },
};

/* Values each version leaves undefined. */
static const struct {
	int minor, op;
} undefined[] = {
	{ 8, 0 },    { 8, 255 },   { 9, 0 },     { 10, 0 },    { 11, 181 }, { 11, 255 },
	{ 12, 169 }, { 12, 255 },  { 13, 119 },  { 13, 255 },  { 14, 121 }, { 14, 233 },
	{ 15, 120 }, { 15, 232 },
};

TEST(spot_checks)
{
	for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
		const struct spot *s = &spots[i];

		CHECK_STR(py_opcode_name(3, s->minor, s->op), s->name);
		CHECK_EQ_INT(py_opcode_base(3, s->minor, s->op), s->base);
		CHECK_EQ_INT(py_opcode_caches(3, s->minor, s->op), s->caches);
	}
}

TEST(undefined_values)
{
	for (size_t i = 0; i < sizeof(undefined) / sizeof(undefined[0]); i++) {
		int minor = undefined[i].minor, op = undefined[i].op;

		CHECK(py_opcode_name(3, minor, op) == NULL);
		CHECK_EQ_INT(py_opcode_base(3, minor, op), -1);
		CHECK_EQ_INT(py_opcode_caches(3, minor, op), -1);
	}
	/* out of byte range, unsupported versions */
	CHECK(py_opcode_name(3, 12, -1) == NULL);
	CHECK(py_opcode_name(3, 12, 256) == NULL); /* SETUP_FINALLY, a pseudo-op */
	CHECK(py_opcode_name(3, 7, 23) == NULL);
	CHECK(py_opcode_name(3, 16, 1) == NULL);
	CHECK(py_opcode_name(2, 12, 1) == NULL);
	CHECK_EQ_INT(py_opcode_base(3, 16, 1), -1);
	CHECK_EQ_INT(py_opcode_caches(4, 0, 1), -1);
}

TEST(format)
{
	char buf[64];

	CHECK_EQ_INT(py_opcode_format(3, 12, 7, buf, sizeof(buf)), 29);
	CHECK_STR(buf, "BINARY_OP_ADD_INT (BINARY_OP)");
	py_opcode_format(3, 11, 40, buf, sizeof(buf));
	CHECK_STR(buf, "LOAD_ATTR_INSTANCE_VALUE (LOAD_ATTR)");
	py_opcode_format(3, 15, 186, buf, sizeof(buf));
	CHECK_STR(buf, "LOAD_ATTR_INSTANCE_VALUE (LOAD_ATTR)");
	py_opcode_format(3, 8, 23, buf, sizeof(buf));
	CHECK_STR(buf, "BINARY_ADD");
	py_opcode_format(3, 13, 53, buf, sizeof(buf));
	CHECK_STR(buf, "CALL");
	py_opcode_format(3, 12, 241, buf, sizeof(buf)); /* instrumented: no "(base)" */
	CHECK_STR(buf, "INSTRUMENTED_CALL");
	CHECK_EQ_INT(py_opcode_format(3, 14, 233, buf, sizeof(buf)), 5);
	CHECK_STR(buf, "<233>");
	py_opcode_format(3, 12, 999, buf, sizeof(buf));
	CHECK_STR(buf, "<999>");
	py_opcode_format(3, 12, -1, buf, sizeof(buf));
	CHECK_STR(buf, "<-1>");
	py_opcode_format(3, 16, 1, buf, sizeof(buf));
	CHECK_STR(buf, "<1>");

	/* truncation: snprintf's contract */
	memset(buf, 'x', sizeof(buf));
	CHECK_EQ_INT(py_opcode_format(3, 12, 7, buf, 10), 29);
	CHECK_STR(buf, "BINARY_OP");
	CHECK_EQ_INT(py_opcode_format(3, 12, 7, NULL, 0), 29);
	buf[0] = 'x';
	CHECK_EQ_INT(py_opcode_format(3, 8, 23, buf, 1), 10);
	CHECK_EQ_INT(buf[0], '\0');
}

/* Whole-table properties, for every supported version. */
TEST(tables)
{
	for (size_t v = 0; v < sizeof(counts) / sizeof(counts[0]); v++) {
		int minor = counts[v].minor, named = 0, specialized = 0;

		for (int op = 0; op < 256; op++) {
			const char *name = py_opcode_name(3, minor, op);
			int base = py_opcode_base(3, minor, op);
			char buf[128];
			int n = py_opcode_format(3, minor, op, buf, sizeof(buf));

			CHECK(n > 0 && (size_t)n < sizeof(buf));
			if (!name) {
				char want[16];

				snprintf(want, sizeof(want), "<%d>", op);
				CHECK_STR(buf, want);
				CHECK_EQ_INT(base, -1);
				continue;
			}
			named++;
			CHECK(name[0] != '\0' && name[0] != '<');
			if (minor < 11)
				CHECK_EQ_INT(py_opcode_caches(3, minor, op), 0);
			else
				CHECK(py_opcode_caches(3, minor, op) >= 0);
			if (base == op) {
				CHECK_STR(buf, name);
				continue;
			}
			/* a specialized opcode: its base is a defined, unspecialized,
			 * uninstrumented opcode with the same inline caches */
			specialized++;
			CHECK(base >= 0 && base < 256);
			CHECK(py_opcode_name(3, minor, base) != NULL);
			CHECK_EQ_INT(py_opcode_base(3, minor, base), base);
			CHECK(strncmp(name, "INSTRUMENTED_", 13) != 0);
			CHECK(strncmp(py_opcode_name(3, minor, base) ? py_opcode_name(3, minor, base) : "",
			              "INSTRUMENTED_", 13) != 0);
			CHECK_EQ_INT(py_opcode_caches(3, minor, op), py_opcode_caches(3, minor, base));
			CHECK(strstr(buf, " (") != NULL && buf[strlen(buf) - 1] == ')');
		}
		CHECK_EQ_INT(named, counts[v].named);
		CHECK_EQ_INT(specialized, counts[v].specialized);
		/* CACHE is opcode 0 from 3.11 on; 0 was unused before */
		if (minor < 11)
			CHECK(py_opcode_name(3, minor, 0) == NULL);
		else
			CHECK_STR(py_opcode_name(3, minor, 0), "CACHE");
	}
	/* every minor from MIN to MAX has a table, none beyond */
	for (int minor = MIN_MINOR; minor <= MAX_MINOR; minor++)
		CHECK(py_opcode_name(3, minor, 1) != NULL);
	CHECK(py_opcode_name(3, MIN_MINOR - 1, 1) == NULL);
	CHECK(py_opcode_name(3, MAX_MINOR + 1, 1) == NULL);
}

int main(void)
{
	RUN(spot_checks);
	RUN(undefined_values);
	RUN(format);
	RUN(tables);
	return harness_done();
}
