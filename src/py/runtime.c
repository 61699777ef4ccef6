#include "py/runtime.h"

#include "base/error.h"
#include "process/elf.h"
#include "process/maps.h"
#include "process/rootfs.h"

#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Largest _Py_DebugOffsets we accept (3.15's is 888 bytes). */
#define DEBUG_OFFSETS_MAX 4096

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* A mapping is a candidate when its file name contains "python" (the
 * interpreter, libpython3.X.so), as Tachyon does, or it is the main
 * executable (a program that embeds a static CPython under another name). */
static bool looks_like_python(const char *path)
{
	return path[0] == '/' && strstr(base_name(path), "python") != NULL;
}

/* "python3.12", "libpython3.8.so.1.0", "libpython3.7m.so" -> 3, 12 */
static bool version_from_name(const char *path, int *major, int *minor)
{
	const char *p = strstr(base_name(path), "python");
	if (!p)
		return false;
	p += strlen("python");
	if (!isdigit((unsigned char)p[0]) || p[1] != '.' || !isdigit((unsigned char)p[2]))
		return false;
	*major = p[0] - '0';
	*minor = 0;
	for (p += 2; isdigit((unsigned char)*p) && *minor < 1000; p++)
		*minor = *minor * 10 + (*p - '0');
	return true;
}

/* Matches a PY_VERSION literal such as "3.8.18" or "3.13.0rc2" standing alone
 * as a C string. */
static bool match_version_literal(const unsigned char *p, size_t avail, void *arg)
{
	int *out = arg;
	if (avail < 6 || p[-1] != '\0')
		return false;
	size_t i = 0;
	int parts[3] = { 0, 0, 0 };
	for (int k = 0; k < 3; k++) {
		size_t start = i;
		while (i < avail && i < 16 && isdigit(p[i]))
			parts[k] = parts[k] * 10 + (p[i++] - '0');
		if (i == start || i - start > 2)
			return false;
		if (k < 2) {
			if (i >= avail || p[i] != '.')
				return false;
			i++;
		}
	}
	while (i < avail && i < 24 && (isalnum(p[i]) || p[i] == '+'))
		i++;
	if (i >= avail || p[i] != '\0')
		return false;
	if (parts[0] < 2 || parts[0] > 3)
		return false;
	out[0] = parts[0];
	out[1] = parts[1];
	out[2] = parts[2];
	return true;
}

/* Parse the file behind a mapping: the mapped file itself, never another
 * one that a hostile target put at its path since (process/rootfs.h). */
static int open_mapped(pid_t pid, const struct map_entry *m, struct elf_file *elf)
{
	int fd;
	int rc = rootfs_open_mapping(pid, m, &fd);
	if (rc)
		return rc;
	rc = elf_open_fd(elf, fd);
	close(fd);
	return rc;
}

/* Load address of an ELF file mapped in the process: the mapping of its
 * first loadable segment minus that segment's virtual address. */
static bool load_bias(const struct maps *maps, const struct map_entry *m, const struct elf_file *elf,
		      uint64_t *bias)
{
	for (size_t i = 0; i < maps->n; i++) {
		const struct map_entry *x = &maps->v[i];
		if (x->inode != m->inode || strcmp(x->path, m->path) != 0)
			continue;
		if (x->offset == elf->load_offset) {
			*bias = x->start - elf->load_vaddr;
			return true;
		}
	}
	return false;
}

struct found {
	bool has_runtime;
	uint64_t runtime_vaddr, code_type_vaddr, none_vaddr;
	uint64_t bias;
	int major, minor, micro;
	uint32_t hex;
	bool version_known;
};

static void inspect(pid_t pid, const struct maps *maps, const struct map_entry *m, struct found *f)
{
	struct elf_file elf;
	memset(f, 0, sizeof(*f));
	f->micro = -1;
	if (open_mapped(pid, m, &elf) != 0)
		return;
	uint64_t addr, size;
	if (elf_find_symbol(&elf, "_PyRuntime", &addr, &size) == 0 ||
	    elf_find_section(&elf, ".PyRuntime", &addr, &size) == 0) {
		f->has_runtime = true;
		f->runtime_vaddr = addr;
	}
	if (elf_find_symbol(&elf, "PyCode_Type", &addr, &size) == 0)
		f->code_type_vaddr = addr;
	if (elf_find_symbol(&elf, "_Py_NoneStruct", &addr, &size) == 0)
		f->none_vaddr = addr;
	/* Py_Version (3.11+) is the exact PY_VERSION_HEX, stored in .rodata */
	uint32_t hex;
	if (elf_find_symbol(&elf, "Py_Version", &addr, &size) == 0 && size >= 4 &&
	    elf_read_vaddr(&elf, addr, &hex, sizeof(hex)) == 0 && (hex >> 24) == 3) {
		f->hex = hex;
		f->major = (int)(hex >> 24);
		f->minor = (int)((hex >> 16) & 0xff);
		f->micro = (int)((hex >> 8) & 0xff);
		f->version_known = true;
	} else if (version_from_name(m->path, &f->major, &f->minor)) {
		f->version_known = true;
	} else if (f->has_runtime) {
		int v[3];
		size_t avail;
		if (elf_scan_rodata(&elf, '3', match_version_literal, v, &avail)) {
			f->major = v[0];
			f->minor = v[1];
			f->micro = v[2];
			f->version_known = true;
		}
	}
	if (f->has_runtime && !load_bias(maps, m, &elf, &f->bias))
		f->has_runtime = false;
	elf_close(&elf);
}

const char *py_runtime_version_str(const struct py_runtime *rt, char *buf, size_t len)
{
	if (rt->micro >= 0)
		snprintf(buf, len, "%d.%d.%d", rt->major, rt->minor, rt->micro);
	else
		snprintf(buf, len, "%d.%d", rt->major, rt->minor);
	return buf;
}

/* Fields shared by _Py_DebugOffsets and struct py_layout. */
struct debug_field {
	size_t map_off;     /* offsetof(struct py_debug_map, x) */
	size_t layout_off;  /* offsetof(struct py_layout, x) */
	const char *name;
	int is_size;        /* a struct size: only used as a read length, so
			     * it is taken from the target without comparing */
	size_t rel_off;     /* if not 0: the target publishes the offset from
			     * an outer struct; this py_debug_map position
			     * holds where the inner struct starts in it
			     * (interp->_gil.locked - interp->_gil) */
};
#define DF(x) { offsetof(struct py_debug_map, x), offsetof(struct py_layout, x), #x, 0, 0 }
#define DS(x) { offsetof(struct py_debug_map, x), offsetof(struct py_layout, x), #x, 1, 0 }
#define DR(x, base) { offsetof(struct py_debug_map, x), offsetof(struct py_layout, x), #x, 0, \
		      offsetof(struct py_debug_map, base) }
static const struct debug_field debug_fields[] = {
	DF(rt_interpreters_head), DS(is_size), DF(is_id), DF(is_next), DF(is_threads_head),
	DF(is_threads_main), DS(ts_size), DF(ts_next), DF(ts_interp), DF(ts_current_frame),
	DF(ts_thread_id), DF(ts_native_thread_id), DF(ts_datastack_chunk), DS(if_size),
	DF(if_previous), DF(if_executable), DF(if_ip), DF(if_owner), DS(co_size),
	DF(co_filename), DF(co_name), DF(co_qualname), DF(co_linetable), DF(co_firstlineno),
	DF(co_code_adaptive), DF(ob_type), DF(b_sval), DF(u_length), DF(u_ascii_data),
	/* thread status and GC state (docs/thread-status.md) */
	DF(is_gil_ptr), DF(is_gil), DF(is_gc), DR(gil_locked, is_gil), DR(gil_last_holder, is_gil),
	DF(ts_holds_gil), DF(ts_gil_requested), DF(ts_current_exception), DF(ts_exc_state),
	DF(exc_value), DF(gc_collecting), DF(gc_frame), DF(rt_finalizing),
	/* what --async-aware reads (src/py/asyncio.c) */
	DF(tp_flags), DF(long_lv_tag), DF(long_ob_digit), DF(set_used), DF(set_mask),
	DF(set_table), DF(gen_iframe), DF(gen_frame_state), DF(if_stackpointer),
	DF(llist_next), DF(llist_prev),
};
#undef DF
#undef DS
#undef DR

static uint32_t map_get(const struct py_debug_map *dm, size_t off)
{
	uint32_t v;
	memcpy(&v, (const char *)dm + off, sizeof(v));
	return v;
}

/* 3.13+: the target describes itself.  Check cookie and version, then take
 * every offset it publishes, insisting they equal the table generated from
 * the same version's headers: the fields it does not publish come from
 * that table, so a build whose layout differs (free-threaded, debug) would
 * otherwise be walked with wrong numbers. */
static int layout_from_debug(struct py_runtime *rt, struct mem_source *mem, struct errmsg *e)
{
	const struct py_debug_map *dm = py_debug_map_find(rt->major, rt->minor);
	if (!dm)
		return 0;
	unsigned char dbg[DEBUG_OFFSETS_MAX];
	size_t size = dm->struct_size;
	if (size > sizeof(dbg) || size < 32) {
		errmsg_set(e, "internal: bad debug offsets size for %d.%d", rt->major, rt->minor);
		return ERR_CORRUPT;
	}
	int rc = mem_read(mem, rt->runtime_addr, dbg, size);
	if (rc)
		return rc;
	if (memcmp(dbg, "xdebugpy", 8) != 0) {
		errmsg_set(e, "the Python %d.%d runtime at 0x%llx has no _Py_DebugOffsets cookie",
			   rt->major, rt->minor, (unsigned long long)rt->runtime_addr);
		return ERR_CORRUPT;
	}
	uint64_t hex = rd_u64(dbg, dm->version);
	if ((hex >> 24) != (uint64_t)rt->major || ((hex >> 16) & 0xff) != (uint64_t)rt->minor) {
		errmsg_set(e, "the runtime says it is Python %d.%d, the binary says %d.%d",
			   (int)(hex >> 24), (int)((hex >> 16) & 0xff), rt->major, rt->minor);
		return ERR_CORRUPT;
	}
	rt->version_hex = (uint32_t)hex;
	rt->micro = (int)((hex >> 8) & 0xff);
	if (dm->free_threaded != PY_ABSENT && rd_u64(dbg, dm->free_threaded) != 0) {
		errmsg_set(e, "free-threaded Python %d.%d (%s) is not supported yet", rt->major,
			   rt->minor, rt->binary);
		return ERR_VERSION;
	}
	for (size_t i = 0; i < sizeof(debug_fields) / sizeof(debug_fields[0]); i++) {
		const struct debug_field *f = &debug_fields[i];
		uint32_t pos = map_get(dm, f->map_off);
		uint32_t want;
		memcpy(&want, (const char *)&rt->layout + f->layout_off, sizeof(want));
		if (pos == PY_ABSENT) {
			continue;
		}
		if (pos + 8 > size)
			return ERR_CORRUPT;
		uint64_t got = rd_u64(dbg, pos);
		if (f->rel_off) {
			uint32_t base = map_get(dm, f->rel_off);
			if (base == PY_ABSENT || base + 8 > size)
				return ERR_CORRUPT;
			got -= rd_u64(dbg, base);
		}
		if (f->is_size) {
			/* bounded: PyInterpreterState is ~200 KiB in 3.13-3.15;
			 * the walker never reads whole interpreter states */
			if (got == 0 || got > (16u << 20)) {
				errmsg_set(e, "Python %d.%d at %s reports an implausible %s (%llu)",
					   rt->major, rt->minor, rt->binary, f->name,
					   (unsigned long long)got);
				return ERR_CORRUPT;
			}
			uint32_t v = (uint32_t)got;
			memcpy((char *)&rt->layout + f->layout_off, &v, sizeof(v));
			continue;
		}
		if (got != want) {
			errmsg_set(e, "Python %d.%d at %s has an unknown layout (%s is %llu, expected %u); "
				   "custom builds whose layout differs from the released one are not supported",
				   rt->major, rt->minor, rt->binary, f->name, (unsigned long long)got, want);
			return ERR_VERSION;
		}
	}
	return 0;
}

int py_runtime_find_section(pid_t pid, const char *section, raddr_t *addr, uint64_t *size,
			    void *bytes, size_t cap)
{
	struct maps maps;
	int rc = maps_read(pid, &maps);
	if (rc)
		return rc;
	rc = ERR_NOTFOUND;
	for (size_t i = 0; i < maps.n && rc == ERR_NOTFOUND; i++) {
		const struct map_entry *m = &maps.v[i];
		if (!looks_like_python(m->path))
			continue;
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = maps.v[j].inode == m->inode && strcmp(maps.v[j].path, m->path) == 0;
		if (seen)
			continue;
		struct elf_file elf;
		if (open_mapped(pid, m, &elf) != 0)
			continue;
		uint64_t vaddr, len, bias;
		if (elf_find_section(&elf, section, &vaddr, &len) == 0 &&
		    load_bias(&maps, m, &elf, &bias) &&
		    (!bytes || (len <= cap && elf_read_vaddr(&elf, vaddr, bytes, (size_t)len) == 0))) {
			*addr = vaddr + bias;
			*size = len;
			rc = 0;
		}
		elf_close(&elf);
	}
	maps_release(&maps);
	return rc;
}

int py_runtime_maybe(pid_t pid)
{
	struct maps maps;
	int rc = maps_read(pid, &maps);
	if (rc)
		return rc;
	int yes = 0;
	for (size_t i = 0; i < maps.n && !yes; i++)
		yes = looks_like_python(maps.v[i].path);
	maps_release(&maps);
	return yes;
}

int py_runtime_layout(struct py_runtime *rt, struct mem_source *mem, struct errmsg *e)
{
	int min_minor, max_minor;
	py_layout_range(&min_minor, &max_minor);
	const struct py_layout *lay = py_layout_find(rt->major, rt->minor);
	if (!lay) {
		char v[32];
		errmsg_set(e, "it runs Python %s (%s); strobe supports CPython 3.%d to 3.%d",
			   py_runtime_version_str(rt, v, sizeof(v)), rt->binary, min_minor,
			   max_minor);
		return ERR_VERSION;
	}
	rt->layout = *lay;
	return layout_from_debug(rt, mem, e);
}

int py_runtime_find(struct py_runtime *rt, pid_t pid, struct mem_source *mem, struct errmsg *e)
{
	memset(rt, 0, sizeof(*rt));
	rt->pid = pid;
	rt->micro = -1;

	struct maps maps;
	int rc = maps_read(pid, &maps);
	if (rc)
		return rc;

	char exe[PATH_MAX] = "";
	char link[64];
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(link, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';

	struct found best = { 0 }, old = { 0 };
	const struct map_entry *best_map = NULL, *old_map = NULL;
	for (size_t i = 0; i < maps.n && !best_map; i++) {
		const struct map_entry *m = &maps.v[i];
		if (!looks_like_python(m->path) && strcmp(m->path, exe) != 0)
			continue;
		/* each file once: only its first mapping */
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = maps.v[j].inode == m->inode && strcmp(maps.v[j].path, m->path) == 0;
		if (seen)
			continue;
		struct found f;
		inspect(pid, &maps, m, &f);
		if (f.has_runtime) {
			best = f;
			best_map = m;
		} else if (f.version_known && !old_map) {
			old = f;
			old_map = m;
		}
	}

	int min_minor, max_minor;
	py_layout_range(&min_minor, &max_minor);
	if (!best_map) {
		if (old_map && (old.major != 3 || old.minor < min_minor || old.minor > max_minor)) {
			errmsg_set(e, "it runs Python %d.%d (%s); strobe supports CPython 3.%d to 3.%d",
				   old.major, old.minor, old_map->path, min_minor, max_minor);
			rc = ERR_VERSION;
		} else {
			errmsg_set(e, "it is not a Python process (no CPython runtime in its memory maps)");
			rc = ERR_NOTPY;
		}
		goto out;
	}

	snprintf(rt->binary, sizeof(rt->binary), "%s", best_map->path);
	rt->runtime_addr = best.runtime_vaddr + best.bias;
	rt->code_type_addr = best.code_type_vaddr ? best.code_type_vaddr + best.bias : 0;
	rt->none_addr = best.none_vaddr ? best.none_vaddr + best.bias : 0;
	rt->major = best.major;
	rt->minor = best.minor;
	rt->micro = best.micro;
	rt->version_hex = best.hex;
	if (!best.version_known) {
		errmsg_set(e, "cannot tell which Python version %s is; strobe supports CPython 3.%d to 3.%d",
			   rt->binary, min_minor, max_minor);
		rc = ERR_VERSION;
		goto out;
	}
	rc = py_runtime_layout(rt, mem, e);
out:
	maps_release(&maps);
	return rc;
}
