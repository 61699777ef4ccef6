/* pymodule.c - module names and kinds of source file paths (Tachyon's
 * module_utils.extract_module_name); see pymodule.h. */
#include "format/pymodule.h"

#include "base/buf.h"
#include "format/out.h"

#include <stdlib.h>
#include <string.h>

#define MAX_PARTS 512 /* a deeper path is named by itself, kind other */

/* Path parts as pathlib splits them: no empty parts, no ".". */
struct parts {
	const char *s[MAX_PARTS];
	size_t n[MAX_PARTS];
	size_t count;
	bool overflow;
};

static void split_path(const char *path, size_t len, struct parts *pp)
{
	pp->count = 0;
	pp->overflow = false;
	size_t i = 0;
	while (i < len) {
		while (i < len && path[i] == '/')
			i++;
		size_t start = i;
		while (i < len && path[i] != '/')
			i++;
		size_t n = i - start;
		if (n == 0 || (n == 1 && path[start] == '.'))
			continue;
		if (pp->count == MAX_PARTS) {
			pp->overflow = true;
			return;
		}
		pp->s[pp->count] = path + start;
		pp->n[pp->count++] = n;
	}
}

static bool part_is(const struct parts *pp, size_t i, const char *s)
{
	return pp->n[i] == strlen(s) && memcmp(pp->s[i], s, pp->n[i]) == 0;
}

bool pymod_is_python_dir(const char *s, size_t n)
{
	if (n < 9 || memcmp(s, "python", 6) != 0)
		return false;
	size_t i = 6, d = 0;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++, d++;
	if (!d || i >= n || s[i] != '.')
		return false;
	i++;
	d = 0;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++, d++;
	if (!d)
		return false;
	if (i < n && s[i] == 't')
		i++;
	return i == n;
}

void pymod_init(struct pymod *m, const char *cwd, pymod_exists_fn exists, const void *ctx)
{
	memset(m, 0, sizeof(*m));
	if (cwd) {
		size_t n = strlen(cwd);
		m->cwd = xmalloc(n + 1);
		memcpy(m->cwd, cwd, n + 1);
	}
	m->exists = exists;
	m->ctx = ctx;
	u64map_init(&m->stdlib_ok);
}

void pymod_release(struct pymod *m)
{
	free(m->cwd);
	u64map_release(&m->stdlib_ok);
	memset(m, 0, sizeof(*m));
}

bool pymod_source_exists(const void *req, const char *path)
{
	char *data = NULL;
	size_t len;
	bool ok = out_source_read(req, path, 0, OUT_SOURCE_UTF8, &data, &len, NULL, NULL) == 0;
	free(data);
	return ok;
}

/* _path_to_module of parts [from, count) */
static void module_of_parts(struct buf *b, const struct parts *pp, size_t from)
{
	for (size_t i = from; i < pp->count; i++) {
		const char *s = pp->s[i];
		size_t n = pp->n[i];
		if (i + 1 == pp->count) {
			/* Path.with_suffix('') when the suffix is ".py" */
			const char *dot = memrchr(s, '.', n);
			if (dot && dot > s && (size_t)(dot - s) == n - 3 && memcmp(dot, ".py", 3) == 0)
				n -= 3;
			if (n == 8 && memcmp(s, "__init__", 8) == 0)
				break;
		}
		if (b->len)
			buf_putc(b, '.');
		buf_append(b, s, n);
	}
	if (!b->len && pp->count > from) {
		/* only "__init__.py": Path.stem of the relative path */
		buf_append(b, "__init__", 8);
	}
}

/* Does /parts[0]/.../parts[upto] hold os.py? */
static bool has_os_py(struct pymod *m, const struct parts *pp, size_t upto)
{
	if (!m->exists)
		return true;
	struct buf dir = BUF_INIT;
	for (size_t i = 0; i <= upto; i++) {
		buf_putc(&dir, '/');
		buf_append(&dir, pp->s[i], pp->n[i]);
	}
	uint64_t h = hash_bytes(dir.data, dir.len) >> 1;
	uint64_t *known = u64map_get(&m->stdlib_ok, h);
	bool ok;
	if (known) {
		ok = *known != 0;
	} else {
		buf_puts(&dir, "/os.py");
		ok = m->exists(m->ctx, dir.data);
		u64map_put(&m->stdlib_ok, h, ok);
	}
	buf_release(&dir);
	return ok;
}

/* Is pp below the working directory?  Then *from is the cwd's part count
 * (0 for "/", which holds every absolute path). */
static bool under_cwd(const struct pymod *m, const struct parts *pp, size_t *from)
{
	if (!m->cwd)
		return false;
	struct parts *cw = xmalloc(sizeof(*cw));
	split_path(m->cwd, strlen(m->cwd), cw);
	bool under = !cw->overflow && cw->count <= pp->count;
	for (size_t i = 0; under && i < cw->count; i++)
		under = cw->n[i] == pp->n[i] && memcmp(cw->s[i], pp->s[i], cw->n[i]) == 0;
	if (under)
		*from = cw->count;
	free(cw);
	return under;
}

enum pymod_kind pymod_name(struct pymod *m, const char *path, size_t n, struct buf *mod)
{
	buf_reset(mod);
	if (n == 0) {
		buf_puts(mod, "unknown");
		return PYMOD_OTHER;
	}
	struct parts *pp = xmalloc(sizeof(*pp));
	split_path(path, n, pp);
	size_t from = 0;
	enum pymod_kind k = PYMOD_OTHER;
	if (!pp->overflow && path[0] == '/') {
		/* the file's standard library: .../lib/pythonX.Y holding os.py */
		for (size_t i = pp->count; i-- > 1 && k == PYMOD_OTHER;) {
			if (pymod_is_python_dir(pp->s[i], pp->n[i]) && part_is(pp, i - 1, "lib") &&
			    i + 1 < pp->count && has_os_py(m, pp, i)) {
				from = i + 1;
				k = PYMOD_STDLIB;
			}
		}
		for (size_t i = pp->count; i-- > 0 && k == PYMOD_OTHER;) {
			if ((part_is(pp, i, "site-packages") || part_is(pp, i, "dist-packages")) &&
			    i + 1 < pp->count) {
				from = i + 1;
				k = PYMOD_SITE;
			}
		}
		if (k == PYMOD_OTHER && under_cwd(m, pp, &from))
			k = PYMOD_PROJECT;
	}
	module_of_parts(mod, pp, pp->overflow ? pp->count : from);
	if (pp->overflow || (!mod->len && pp->count == from && from == 0))
		buf_append(mod, path, n);
	free(pp);
	return k;
}
