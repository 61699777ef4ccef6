#include "py/pystr.h"

#include "base/error.h"
#include "base/utf8.h"
#include "py/layout.h"

#include <stdint.h>

int pystr_decode(struct buf *out, const unsigned char *data, size_t nchars, unsigned kind,
		 bool ascii)
{
	if (ascii) {
		for (size_t i = 0; i < nchars; i++)
			if (data[i] & 0x80)
				return ERR_CORRUPT;
		buf_append(out, data, nchars);
		return 0;
	}
	buf_reserve(out, nchars * 3);
	for (size_t i = 0; i < nchars; i++) {
		uint32_t cp = kind == 1 ? data[i] : kind == 2 ? rd_u16(data, i * 2) : rd_u32(data, i * 4);
		char e[4];
		buf_append(out, e, utf8_encode(cp, e));
	}
	return 0;
}

int pystr_parse_head(const struct py_layout *l, const unsigned char *head, struct pystr_head *h)
{
	uint32_t state = rd_u32(head, l->u_state);
	unsigned kind = (state >> l->u_kind_shift) & 7;
	unsigned compact = (state >> l->u_compact_shift) & 1;
	unsigned ascii = (state >> l->u_ascii_shift) & 1;
	int64_t length = (int64_t)rd_u64(head, l->u_length);
	if (!compact || (kind != 1 && kind != 2 && kind != 4) || (ascii && kind != 1) || length < 0)
		return ERR_CORRUPT;
	*h = (struct pystr_head){ kind, ascii != 0, (uint64_t)length,
				  ascii ? l->u_ascii_data : l->u_compact_data };
	return 0;
}

#define STR_FIRST_READ PYSTR_FIRST_READ

int pystr_read_str(struct mem_source *mem, const struct py_layout *l, raddr_t addr, struct buf *out)
{
	unsigned char head[STR_FIRST_READ];
	if (!addr)
		return ERR_CORRUPT;
	size_t first = sizeof(head);
	int rc = mem_read(mem, addr, head, first);
	if (rc == ERR_FAULT) {
		/* near the end of a mapping: the header alone must be readable */
		first = l->u_compact_data;
		rc = mem_read(mem, addr, head, first);
	}
	if (rc)
		return rc;
	struct pystr_head h;
	if ((rc = pystr_parse_head(l, head, &h)))
		return rc;
	unsigned kind = h.kind;
	bool ascii = h.ascii;
	size_t nchars = h.length > PYSTR_MAX_CHARS ? PYSTR_MAX_CHARS : (size_t)h.length;
	size_t data_off = h.data_off;
	size_t nbytes = nchars * kind;
	unsigned char big[PYSTR_MAX_CHARS * 4];
	const unsigned char *data;
	if (data_off + nbytes <= first) {
		data = head + data_off;
	} else {
		rc = mem_read(mem, addr + data_off, big, nbytes);
		if (rc)
			return rc;
		data = big;
	}
	return pystr_decode(out, data, nchars, kind, ascii);
}

int pystr_read_bytes(struct mem_source *mem, const struct py_layout *l, raddr_t addr, size_t max,
		     struct buf *out)
{
	unsigned char head[64];
	if (!addr || l->b_sval > sizeof(head))
		return ERR_CORRUPT;
	int rc = mem_read(mem, addr, head, l->b_sval);
	if (rc)
		return rc;
	int64_t size = (int64_t)rd_u64(head, l->ob_size);
	if (size < 0)
		return ERR_CORRUPT;
	if ((uint64_t)size > max)
		return ERR_LIMIT;
	buf_reserve(out, (size_t)size);
	rc = mem_read(mem, addr + l->b_sval, out->data + out->len, (size_t)size);
	if (rc)
		return rc;
	out->len += (size_t)size;
	out->data[out->len] = '\0';
	return 0;
}
