/* locals.c - see locals.h. */
#include "py/locals.h"

#include "base/buf.h"
#include "base/error.h"
#include "base/pytext.h"
#include "base/utf8.h"
#include "py/layout.h"
#include "py/pystr.h"
#include "py/runtime.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* What a value is shown as, by its type. */
enum {
	K_OTHER = 0, K_NONE, K_BOOL, K_INT, K_FLOAT, K_STR, K_BYTES,
	K_LIST, K_TUPLE, K_DICT, K_SET, K_FROZENSET, K_CELL,
};

static const struct {
	const char *name;
	uint8_t kind;
} builtin_types[] = {
	{ "NoneType", K_NONE }, { "bool", K_BOOL },   { "int", K_INT },
	{ "float", K_FLOAT },   { "str", K_STR },     { "bytes", K_BYTES },
	{ "list", K_LIST },     { "tuple", K_TUPLE }, { "dict", K_DICT },
	{ "set", K_SET },       { "frozenset", K_FROZENSET }, { "cell", K_CELL },
};

bool py_locals_supported(const struct py_runtime *rt)
{
	const struct py_layout *l = &rt->layout;
	uint32_t common[] = { l->ob_type, l->ob_size, l->tp_name, l->tp_flags, l->tuple_items,
			      l->float_fval, l->cell_ref, l->dict_used, l->set_used, l->long_digits,
			      l->b_sval, l->u_length, l->u_state };
	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		if (common[i] == PY_ABSENT)
			return false;
	if (l->long_shift == 0 || l->long_shift > 31)
		return false;
	if (l->frame_model == PY_FRAMES_OBJECTS)
		return l->fo_code != PY_ABSENT && l->fo_localsplus != PY_ABSENT &&
		       l->co_nlocals != PY_ABSENT && l->co_varnames != PY_ABSENT &&
		       l->co_cellvars != PY_ABSENT && l->co_freevars != PY_ABSENT;
	return l->if_executable != PY_ABSENT && l->if_size != PY_ABSENT &&
	       l->co_nlocalsplus != PY_ABSENT && l->co_localsplusnames != PY_ABSENT &&
	       l->co_localspluskinds != PY_ABSENT && l->co_fast_local;
}

void py_locals_init(struct py_locals *pl, struct mem_source *mem, const struct py_runtime *rt)
{
	memset(pl, 0, sizeof(*pl));
	pl->mem = mem;
	pl->rt = rt;
}

/* Append the target's text s[0..n) (a name) with its ASCII control
 * characters as \xNN: a line per local stays one line whatever a name
 * holds (a newline in a hostile name would forge the next line). */
static void put_text(struct buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			buf_printf(out, "\\x%02x", c);
		else
			buf_putc(out, (char)c);
	}
}

/* One read of the frame's budget. */
static int rd(struct py_locals *pl, raddr_t addr, void *dst, size_t len)
{
	if (!pl->reads)
		return ERR_LIMIT;
	pl->reads--;
	if (!addr)
		return ERR_CORRUPT;
	return mem_read(pl->mem, addr, dst, len);
}

/* Read a NUL-terminated C string of at most max bytes at addr (a type's
 * tp_name) into dst: pieces that stop at page ends, so that a string at the
 * end of a mapping is read.  Returns its length or an ERR_*. */
static int rd_cstr(struct py_locals *pl, raddr_t addr, char *dst, size_t max)
{
	size_t got = 0;
	while (got < max) {
		size_t page_left = 4096 - ((addr + got) & 4095);
		size_t n = max - got < page_left ? max - got : page_left;
		int rc = rd(pl, addr + got, dst + got, n);
		if (rc)
			return got ? (int)got : rc;
		void *nul = memchr(dst + got, '\0', n);
		if (nul)
			return (int)((char *)nul - dst);
		got += n;
	}
	return (int)max;
}

/* The type at addr: its kind and name, remembered for the dump. */
static const struct py_locals_type *type_of(struct py_locals *pl, raddr_t addr)
{
	for (size_t i = 0; i < pl->ntypes; i++)
		if (pl->types[i].addr == addr)
			return &pl->types[i];
	const struct py_layout *l = &pl->rt->layout;
	unsigned char head[512];
	size_t need = (l->tp_name > l->tp_flags ? l->tp_name : l->tp_flags) + 8;
	if (need > sizeof(head) || rd(pl, addr, head, need))
		return NULL;
	char name[PY_LOCALS_NAME_CHARS + 1];
	int n = rd_cstr(pl, rd_u64(head, l->tp_name), name, PY_LOCALS_NAME_CHARS);
	if (n < 0)
		return NULL;
	struct py_locals_type *t = &pl->types[pl->ntypes < PY_LOCALS_TYPES ? pl->ntypes++
									   : pl->next_type++ % PY_LOCALS_TYPES];
	t->addr = addr;
	t->kind = K_OTHER;
	bool heap = rd_u64(head, l->tp_flags) >> l->tpflags_heaptype_bit & 1;
	for (size_t i = 0; !heap && i < sizeof(builtin_types) / sizeof(builtin_types[0]); i++)
		if ((size_t)n == strlen(builtin_types[i].name) &&
		    !memcmp(name, builtin_types[i].name, (size_t)n))
			t->kind = builtin_types[i].kind;
	struct buf b = BUF_INIT;
	utf8_sanitize(&b, name, (size_t)n);
	size_t len = b.len < sizeof(t->name) ? b.len : utf8_cut(b.data, b.len, sizeof(t->name) - 1);
	memcpy(t->name, b.data, len);
	t->len = (uint8_t)(len < 255 ? len : 255);
	buf_release(&b);
	return t;
}

/* A compact str's first max characters as UTF-8 into out; *cut when it has
 * more. */
static int read_str(struct py_locals *pl, raddr_t addr, size_t max, struct buf *out, bool *cut)
{
	const struct py_layout *l = &pl->rt->layout;
	unsigned char head[128];
	if (l->u_compact_data > sizeof(head))
		return ERR_CORRUPT;
	int rc = rd(pl, addr, head, l->u_compact_data);
	if (rc)
		return rc;
	struct pystr_head h;
	if ((rc = pystr_parse_head(l, head, &h)))
		return rc;
	size_t nchars = h.length > max ? max : (size_t)h.length;
	*cut = h.length > max;
	unsigned char data[PY_LOCALS_NAME_CHARS * 4];
	if (nchars * h.kind > sizeof(data))
		return ERR_LIMIT;
	if (nchars && (rc = rd(pl, addr + h.data_off, data, nchars * h.kind)))
		return rc;
	return pystr_decode(out, data, nchars, h.kind, h.ascii);
}

/* An int's repr (or a bool's). */
static int put_int(struct py_locals *pl, raddr_t addr, bool is_bool, struct buf *out)
{
	const struct py_layout *l = &pl->rt->layout;
	uint64_t word;
	size_t at = l->long_lv_tag != PY_ABSENT ? l->long_lv_tag : l->ob_size;
	int rc = rd(pl, addr + at, &word, 8);
	if (rc)
		return rc;
	uint64_t ndigits;
	bool neg;
	if (l->long_lv_tag != PY_ABSENT) {
		/* 3.12+: lv_tag = ndigits << non_size_bits | sign (0 +, 1 zero, 2 -) */
		ndigits = word >> l->long_non_size_bits;
		unsigned sign = (unsigned)(word & l->long_sign_mask);
		if (sign == 1 && ndigits)
			return ERR_CORRUPT;
		neg = sign == 2;
	} else {
		/* ob_size: the number of digits, negative for a negative int */
		int64_t size = (int64_t)word;
		neg = size < 0;
		ndigits = neg ? (uint64_t)0 - (uint64_t)size : (uint64_t)size;
	}
	uint32_t digits[PYTEXT_INT_MAX_DIGITS + 1] = { 0 };
	size_t n = ndigits > PYTEXT_INT_MAX_DIGITS ? PYTEXT_INT_MAX_DIGITS + 1 : (size_t)ndigits;
	if (ndigits > PYTEXT_INT_MAX_DIGITS) {
		/* too long to convert: its size from its top digit */
		rc = rd(pl, addr + l->long_digits + (ndigits - 1) * 4, &digits[n - 1], 4);
		if (ndigits > (1u << 26))
			return ERR_CORRUPT;
		if (rc)
			return rc;
		buf_printf(out, "<int of about %" PRIu64 " digits>",
			   (uint64_t)((double)((ndigits - 1) * l->long_shift +
					       (digits[n - 1] ? 32 - (unsigned)__builtin_clz(digits[n - 1])
							      : 0)) * 0.30102999566) + 1);
		return 0;
	}
	if (n && (rc = rd(pl, addr + l->long_digits, digits, n * 4)))
		return rc;
	if (is_bool) {
		bool set = false;
		for (size_t i = 0; i < n; i++)
			set |= digits[i] != 0;
		buf_puts(out, set ? "True" : "False");
		return 0;
	}
	pytext_int_repr(out, digits, n, l->long_shift, neg, PY_LOCALS_INT_CHARS);
	return 0;
}

/* A word of the object at addr, at offset off. */
static int rd_word(struct py_locals *pl, raddr_t addr, uint32_t off, uint64_t *v)
{
	if (off == PY_ABSENT)
		return ERR_CORRUPT;
	return rd(pl, addr + off, v, 8);
}

/* The repr of the object at addr; cells (depth 0) are followed once. */
static int put_value(struct py_locals *pl, raddr_t addr, int depth, struct buf *out)
{
	const struct py_layout *l = &pl->rt->layout;
	if (pl->rt->none_addr && addr == pl->rt->none_addr) {
		buf_puts(out, "None");
		return 0;
	}
	uint64_t type_addr;
	int rc = rd_word(pl, addr, l->ob_type, &type_addr);
	if (rc)
		return rc;
	const struct py_locals_type *t = type_of(pl, type_addr);
	if (!t)
		return ERR_CORRUPT;
	uint64_t v;
	switch (t->kind) {
	case K_NONE:
		buf_puts(out, "None");
		return 0;
	case K_BOOL:
	case K_INT:
		return put_int(pl, addr, t->kind == K_BOOL, out);
	case K_FLOAT: {
		if ((rc = rd_word(pl, addr, l->float_fval, &v)))
			return rc;
		double d;
		memcpy(&d, &v, sizeof(d));
		pytext_float_repr(out, d);
		return 0;
	}
	case K_STR: {
		struct buf s = BUF_INIT;
		bool cut = false;
		rc = read_str(pl, addr, PY_LOCALS_TEXT_CHARS, &s, &cut);
		if (rc == 0) {
			pytext_repr(out, s.data ? s.data : "", s.len);
			if (cut)
				buf_puts(out, "...");
		}
		buf_release(&s);
		return rc;
	}
	case K_BYTES: {
		if ((rc = rd_word(pl, addr, l->ob_size, &v)))
			return rc;
		if ((int64_t)v < 0)
			return ERR_CORRUPT;
		unsigned char data[PY_LOCALS_TEXT_CHARS];
		size_t n = v > sizeof(data) ? sizeof(data) : (size_t)v;
		if (n && (rc = rd(pl, addr + l->b_sval, data, n)))
			return rc;
		pytext_bytes_repr(out, data, n);
		if (v > n)
			buf_puts(out, "...");
		return 0;
	}
	case K_LIST:
	case K_TUPLE:
	case K_DICT:
	case K_SET:
	case K_FROZENSET: {
		uint32_t off = t->kind == K_DICT ? l->dict_used
			       : t->kind == K_SET || t->kind == K_FROZENSET ? l->set_used
										: l->ob_size;
		if ((rc = rd_word(pl, addr, off, &v)))
			return rc;
		buf_putc(out, '<');
		put_text(out, t->name, t->len);
		buf_printf(out, " of %" PRId64 ">", (int64_t)v);
		return 0;
	}
	case K_CELL:
		if (depth == 0) {
			if ((rc = rd_word(pl, addr, l->cell_ref, &v)))
				return rc;
			if (!v)
				return ERR_NOTREADY; /* an empty cell: unbound */
			return put_value(pl, v, 1, out);
		}
		break;
	}
	buf_putc(out, '<');
	put_text(out, t->name, t->len);
	buf_puts(out, " object>");
	return 0;
}

/* The n names of a tuple at addr (each PY_ABSENT-free item address) into
 * items; n must be its size.  0 or ERR_*. */
static int read_tuple(struct py_locals *pl, raddr_t addr, size_t n, uint64_t *items)
{
	const struct py_layout *l = &pl->rt->layout;
	uint64_t size;
	int rc = rd_word(pl, addr, l->ob_size, &size);
	if (rc)
		return rc;
	if (size != n)
		return ERR_CORRUPT;
	return n ? rd(pl, addr + l->tuple_items, items, n * 8) : 0;
}

/* The tuple size at addr (clamped to PY_LOCALS_SLOTS: ERR_LIMIT beyond). */
static int tuple_size(struct py_locals *pl, raddr_t addr, size_t *n)
{
	uint64_t size;
	int rc = rd_word(pl, addr, pl->rt->layout.ob_size, &size);
	if (rc)
		return rc;
	if (size > PY_LOCALS_SLOTS)
		return ERR_LIMIT;
	*n = (size_t)size;
	return 0;
}

/* What one frame has: its slots' names, which to show, their values. */
struct slots {
	size_t n;
	uint64_t names[PY_LOCALS_SLOTS];
	uint64_t values[PY_LOCALS_SLOTS];
	bool shown[PY_LOCALS_SLOTS];
	bool cell[PY_LOCALS_SLOTS];   /* holds a cell (its value is ob_ref) */
};

/* 3.8-3.10: f_localsplus = locals, then cells of co_cellvars and
 * co_freevars. */
static int slots_objects(struct py_locals *pl, raddr_t frame, raddr_t code, const unsigned char *co,
			 struct slots *sl)
{
	const struct py_layout *l = &pl->rt->layout;
	int32_t nlocals = rd_i32(co, l->co_nlocals);
	size_t ncell, nfree;
	raddr_t varnames = rd_u64(co, l->co_varnames), cellvars = rd_u64(co, l->co_cellvars),
		freevars = rd_u64(co, l->co_freevars);
	int rc;
	if (nlocals < 0 || nlocals > PY_LOCALS_SLOTS)
		return ERR_LIMIT;
	if ((rc = tuple_size(pl, cellvars, &ncell)) || (rc = tuple_size(pl, freevars, &nfree)))
		return rc;
	sl->n = (size_t)nlocals + ncell + nfree;
	if (sl->n > PY_LOCALS_SLOTS)
		return ERR_LIMIT;
	if ((rc = read_tuple(pl, varnames, (size_t)nlocals, sl->names)) ||
	    (rc = read_tuple(pl, cellvars, ncell, sl->names + nlocals)) ||
	    (rc = read_tuple(pl, freevars, nfree, sl->names + nlocals + ncell)))
		return rc;
	for (size_t i = 0; i < sl->n; i++) {
		sl->shown[i] = true;
		sl->cell[i] = i >= (size_t)nlocals;
	}
	(void)code;
	return sl->n ? rd(pl, frame + l->fo_localsplus, sl->values, sl->n * 8) : 0;
}

/* 3.11+: a name and a kind per localsplus slot. */
static int slots_interp(struct py_locals *pl, raddr_t frame, const unsigned char *co, struct slots *sl)
{
	const struct py_layout *l = &pl->rt->layout;
	int32_t n = rd_i32(co, l->co_nlocalsplus);
	if (n < 0 || n > PY_LOCALS_SLOTS)
		return ERR_LIMIT;
	sl->n = (size_t)n;
	int rc = read_tuple(pl, rd_u64(co, l->co_localsplusnames), sl->n, sl->names);
	if (rc)
		return rc;
	raddr_t kinds_addr = rd_u64(co, l->co_localspluskinds);
	uint64_t size;
	if ((rc = rd_word(pl, kinds_addr, l->ob_size, &size)))
		return rc;
	if (size != sl->n)
		return ERR_CORRUPT;
	unsigned char kinds[PY_LOCALS_SLOTS];
	if (sl->n && (rc = rd(pl, kinds_addr + l->b_sval, kinds, sl->n)))
		return rc;
	for (size_t i = 0; i < sl->n; i++) {
		unsigned k = kinds[i];
		sl->shown[i] = !(k & l->co_fast_hidden) &&
			       (k & (l->co_fast_local | l->co_fast_cell | l->co_fast_free));
		/* a cell variable's slot holds its cell once MAKE_CELL ran (an
		 * argument's value before that), a free variable's once
		 * COPY_FREE_VARS ran: told apart by the object's type */
		sl->cell[i] = k & (l->co_fast_cell | l->co_fast_free);
	}
	return sl->n ? rd(pl, frame + l->if_size, sl->values, sl->n * 8) : 0;
}

int py_locals_frame(struct py_locals *pl, raddr_t frame, raddr_t code, struct buf *out)
{
	const struct py_layout *l = &pl->rt->layout;
	pl->reads = PY_LOCALS_MAX_READS;
	bool objects = l->frame_model == PY_FRAMES_OBJECTS;
	uint32_t code_at = objects ? l->fo_code : l->if_executable;
	uint64_t now;
	int rc = rd_word(pl, frame, code_at, &now);
	if (rc)
		return rc;
	/* the frame still runs the code it ran when it was sampled */
	if ((now & ~(uint64_t)l->executable_tag_mask) != code)
		return ERR_CORRUPT;
	unsigned char co[1024];
	uint32_t need = objects ? l->co_freevars : l->co_localspluskinds;
	if (objects) {
		need = need > l->co_varnames ? need : l->co_varnames;
		need = need > l->co_cellvars ? need : l->co_cellvars;
		need = need > l->co_nlocals ? need : l->co_nlocals;
	} else {
		need = need > l->co_localsplusnames ? need : l->co_localsplusnames;
		need = need > l->co_nlocalsplus ? need : l->co_nlocalsplus;
	}
	need += 8;
	if (need > sizeof(co) || (rc = rd(pl, code, co, need)))
		return rc ? rc : ERR_CORRUPT;
	if (pl->rt->code_type_addr && rd_u64(co, l->ob_type) != pl->rt->code_type_addr)
		return ERR_CORRUPT;
	struct slots *sl = xcalloc(1, sizeof(*sl));
	rc = objects ? slots_objects(pl, frame, code, co, sl) : slots_interp(pl, frame, co, sl);
	if (rc)
		goto out;
	size_t shown = 0, more = 0;
	struct buf line = BUF_INIT;
	for (size_t i = 0; i < sl->n; i++) {
		if (!sl->shown[i])
			continue;
		uint64_t bits = sl->values[i];
		bool tagged_int = l->stackref_int_tag &&
				  (bits & l->stackref_int_tag) == l->stackref_int_tag;
		raddr_t value = bits & ~(uint64_t)l->executable_tag_mask;
		if (!tagged_int && !value)
			continue; /* unbound */
		if (shown == PY_LOCALS_MAX) {
			more++;
			continue;
		}
		line.len = 0;
		if (tagged_int) {
			/* 3.14+: a tagged int, never a local's value in CPython's
			 * own code, but shown as what it is */
			buf_printf(&line, "%" PRId64, (int64_t)bits >> l->stackref_int_shift);
			rc = 0;
		} else {
			rc = pl->reads ? put_value(pl, value, sl->cell[i] ? 0 : 1, &line) : ERR_LIMIT;
		}
		if (rc == ERR_NOTREADY)
			continue; /* an empty cell */
		if (rc == ERR_LIMIT) {
			line.len = 0;
			buf_puts(&line, "<not read>");
		} else if (rc) {
			line.len = 0;
			buf_puts(&line, "<unreadable>");
		}
		struct buf nm = BUF_INIT;
		bool cut = false;
		if (pl->reads && read_str(pl, sl->names[i], PY_LOCALS_NAME_CHARS, &nm, &cut) == 0) {
			put_text(out, nm.data ? nm.data : "", nm.len);
			if (cut)
				buf_puts(out, "...");
		} else {
			buf_puts(out, "?");
		}
		buf_release(&nm);
		buf_puts(out, " = ");
		buf_append(out, line.data ? line.data : "", line.len);
		buf_putc(out, '\n');
		shown++;
	}
	if (more)
		buf_printf(out, "... %zu more\n", more);
	buf_release(&line);
	rc = 0;
out:
	free(sl);
	return rc;
}
