/* test_elf.c - the ELF64 reader (src/process/elf.h) on real binaries and on
 * hostile files.
 *
 * The reader reads files strobe did not write (a target's executable and
 * libraries), so every header, table and string offset is untrusted.  A
 * small synthetic ELF built here is broken one field at a time; then real
 * /bin/true is mutated at random (fixed seed).  Every case must give an
 * error or "not found", never a crash; run under ASan+UBSan too.
 */
#include "harness.h"

#include "base/error.h"
#include "process/elf.h"
#include "process/maps.h"

#include <elf.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[256];
/* The images are written to a memfd and opened as /proc/self/fd/N: a real
 * regular file, without the disk writeback a file system may force on a
 * file truncated and rewritten thousands of times. */
static int img_fd = -1;
static char tmpfile_path[300];

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int write_file(int fd, const void *data, size_t n)
{
	if (ftruncate(fd, 0) != 0)
		return -1;
	const char *p = data;
	off_t at = 0;
	while (n) {
		ssize_t w = pwrite(fd, p, n, at);
		if (w <= 0)
			return -1;
		p += w;
		at += w;
		n -= (size_t)w;
	}
	return 0;
}

static const char *write_tmp(const void *data, size_t n)
{
	if (write_file(img_fd, data, n) != 0) {
		fprintf(stderr, "cannot write %s\n", tmpfile_path);
		CHECK(0);
	}
	return tmpfile_path;
}

static unsigned char *read_whole(const char *path, size_t *n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size <= 0) {
		close(fd);
		return NULL;
	}
	unsigned char *b = malloc((size_t)st.st_size);
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, b + got, (size_t)st.st_size - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	*n = got;
	return b;
}

/* ---- probing: call everything, check what can be checked ------------- */

/* Whether [p - 1, p + avail) lies in memory the reader owns or was given:
 * the image (memory mode) or one of the pieces it read (file mode). */
static bool readable(const struct elf_file *e, const unsigned char *p, size_t avail)
{
	if (avail == 0)
		return false;
	if (e->data)
		return p > e->data && avail <= e->size && (size_t)(p - e->data) <= e->size - avail;
	for (unsigned i = 0; i < e->npieces; i++) {
		const struct elf_piece *x = &e->pieces[i];
		if (p > x->buf && avail <= x->len && (size_t)(p - x->buf) <= x->len - avail)
			return true;
	}
	return false;
}

struct scan_ctx {
	const struct elf_file *e;
	bool out_of_bounds;
	const char *want;
	size_t calls;
};

static bool scan_match(const unsigned char *p, size_t avail, void *arg)
{
	struct scan_ctx *c = arg;
	c->calls++;
	/* the candidate, the byte before it and everything it says is
	 * available lie in the file's bytes */
	if (!readable(c->e, p, avail))
		c->out_of_bounds = true;
	if (!c->want)
		return c->calls > 50; /* stop at some point */
	size_t n = strlen(c->want) + 1;
	return avail >= n && memcmp(p, c->want, n) == 0;
}

static bool probe_bounds_ok;

/* What every entry point answered, to compare the two ways of reading. */
struct answers {
	int rc;
	int sym_rc[11];
	uint64_t sym_v[11], sym_sz[11];
	int sec_rc[8];
	uint64_t sec_a[8], sec_sz[8];
	int read_rc[10][2];
	unsigned char read_buf[10][64];
	bool hit;
	size_t hit_avail;
	unsigned char hit_bytes[20];
	size_t calls;
};

static void ask(struct elf_file *e, struct answers *a)
{
	static const char *syms[] = { "main", "data_var", "shared", "last", "undef_sym", "dyn_fn",
				      "stderr", "__progname", "_IO_stdin_used", "", "x" };
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++)
		a->sym_rc[i] = elf_find_symbol(e, syms[i], &a->sym_v[i], &a->sym_sz[i]);
	static const char *secs[] = { ".text", ".rodata", ".data", ".symtab", ".shstrtab", "",
				      ".gnu_debuglink", ".dynsym" };
	for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++)
		a->sec_rc[i] = elf_find_section(e, secs[i], &a->sec_a[i], &a->sec_sz[i]);
	uint64_t addrs[] = { e->load_vaddr, e->load_vaddr + 0x100, 0x600300, 0x400200,
			     0x1000, 0x6000, 0x9200, 0, UINT64_MAX - 3, UINT64_MAX };
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		a->read_rc[i][0] = elf_read_vaddr(e, addrs[i], a->read_buf[i], 8);
		a->read_rc[i][1] = elf_read_vaddr(e, addrs[i], a->read_buf[i], 64);
		(void)elf_read_vaddr(e, addrs[i], a->read_buf[i], 0);
	}
	struct scan_ctx c = { e, false, "hello-rodata-marker", 0 };
	size_t avail = 0;
	const unsigned char *hit = elf_scan_rodata(e, 'h', scan_match, &c, &avail);
	a->hit = hit != NULL;
	if (hit) {
		probe_bounds_ok &= readable(e, hit, avail);
		a->hit_avail = avail;
		memcpy(a->hit_bytes, hit, avail < 20 ? avail : 20);
	}
	c.want = NULL;
	c.calls = 0;
	(void)elf_scan_rodata(e, 0, scan_match, &c, &avail);
	a->calls = c.calls;
	probe_bounds_ok &= !c.out_of_bounds;
}

/* Use every entry point on path, read from the file (elf_open) and from
 * a copy in memory (elf_parse): the answers must be the same.  Returns
 * elf_open's result. */
static int probe(const char *path)
{
	struct answers fa, ma;
	memset(&fa, 0, sizeof(fa));
	memset(&ma, 0, sizeof(ma));
	struct elf_file e;
	bool limited = false;
	fa.rc = elf_open(&e, path);
	if (fa.rc != 0) {
		/* a failed open leaves nothing behind */
		probe_bounds_ok &= e.data == NULL && e.size == 0 && e.fd < 0 && e.npieces == 0;
	} else {
		ask(&e, &fa);
		/* never more than twice the file */
		probe_bounds_ok &= e.bytes_read <= 2 * (uint64_t)e.size;
		limited = e.limited;
		elf_close(&e);
		probe_bounds_ok &= e.fd < 0 && e.npieces == 0;
	}
	size_t n = 0;
	unsigned char *copy = read_whole(path, &n);
	ma.rc = copy ? elf_parse(&e, copy, n) : ERR_INVAL;
	if (ma.rc == 0) {
		ask(&e, &ma);
		probe_bounds_ok &= e.npieces == 0 && e.bytes_read == 0;
		elf_close(&e);
	}
	free(copy);
	probe_bounds_ok &= fa.rc != ma.rc ? false : limited || memcmp(&fa, &ma, sizeof(fa)) == 0;
	return fa.rc;
}

/* ---- a small synthetic ELF ------------------------------------------- */

enum {
	OFF_PH = 0x40,
	OFF_TEXT = 0x100,
	OFF_RODATA = 0x200,
	OFF_DATA = 0x300,
	OFF_SYMTAB = 0x400,
	OFF_STRTAB = 0x500,
	OFF_DYNSYM = 0x580,
	OFF_DYNSTR = 0x600,
	OFF_SHSTR = 0x680,
	OFF_SH = 0x800,
	NSEC = 9,
	IMG_SIZE = OFF_SH + NSEC * 64,
	VA_TEXT = 0x400000,
	VA_DATA = 0x600000,
};
enum { S_NULL, S_TEXT, S_RODATA, S_DATA, S_SYMTAB, S_STRTAB, S_DYNSYM, S_DYNSTR, S_SHSTR };

#define DATA_VALUE 0x1122334455667788ULL

struct img {
	unsigned char b[IMG_SIZE];
	size_t size;
	size_t strtab_len;
	uint32_t name_last; /* st_name of "last", the final string in .strtab */
};

static Elf64_Ehdr eh_get(const struct img *m)
{
	Elf64_Ehdr h;
	memcpy(&h, m->b, sizeof(h));
	return h;
}
static void eh_put(struct img *m, const Elf64_Ehdr *h)
{
	memcpy(m->b, h, sizeof(*h));
}
static Elf64_Shdr sh_get(const struct img *m, int i)
{
	Elf64_Shdr s;
	memcpy(&s, m->b + OFF_SH + i * sizeof(s), sizeof(s));
	return s;
}
static void sh_put(struct img *m, int i, const Elf64_Shdr *s)
{
	memcpy(m->b + OFF_SH + i * sizeof(*s), s, sizeof(*s));
}
static Elf64_Phdr ph_get(const struct img *m, int i)
{
	Elf64_Phdr p;
	memcpy(&p, m->b + OFF_PH + i * sizeof(p), sizeof(p));
	return p;
}
static void ph_put(struct img *m, int i, const Elf64_Phdr *p)
{
	memcpy(m->b + OFF_PH + i * sizeof(*p), p, sizeof(*p));
}

/* Append s (with its NUL) to the string table at base; returns its offset. */
static uint32_t str_add(unsigned char *base, size_t *len, const char *s)
{
	uint32_t at = (uint32_t)*len;
	size_t n = strlen(s) + 1;
	memcpy(base + *len, s, n);
	*len += n;
	return at;
}

static void sym_put(unsigned char *at, uint32_t name, uint16_t shndx, uint64_t value,
		    uint64_t size)
{
	Elf64_Sym s = { .st_name = name, .st_info = ELF64_ST_INFO(STB_GLOBAL, STT_OBJECT),
			.st_other = 0, .st_shndx = shndx, .st_value = value, .st_size = size };
	memcpy(at, &s, sizeof(s));
}

static void build(struct img *m)
{
	memset(m, 0, sizeof(*m));
	m->size = IMG_SIZE;

	/* two PT_LOADs: read/execute text+rodata from offset 0, and a
	 * read-write data segment with a bss tail */
	Elf64_Phdr ph = { .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = 0,
			  .p_vaddr = VA_TEXT, .p_paddr = VA_TEXT, .p_filesz = OFF_DATA,
			  .p_memsz = OFF_DATA, .p_align = 0x1000 };
	ph_put(m, 0, &ph);
	ph = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = OFF_DATA,
			   .p_vaddr = VA_DATA + OFF_DATA, .p_paddr = VA_DATA + OFF_DATA,
			   .p_filesz = 0x40, .p_memsz = 0x100, .p_align = 0x1000 };
	ph_put(m, 1, &ph);

	memset(m->b + OFF_TEXT, 0xc3, 16);
	memcpy(m->b + OFF_RODATA, "hello-rodata-marker", 20);
	uint64_t dv = DATA_VALUE;
	memcpy(m->b + OFF_DATA, &dv, 8);
	memcpy(m->b + OFF_DATA + 8, "hello-rw-marker", 16); /* writable: not scanned */

	size_t sl = 0;
	unsigned char *st = m->b + OFF_STRTAB;
	str_add(st, &sl, "");
	uint32_t n_main = str_add(st, &sl, "main");
	uint32_t n_data = str_add(st, &sl, "data_var");
	uint32_t n_undef = str_add(st, &sl, "undef_sym");
	uint32_t n_shared = str_add(st, &sl, "shared");
	m->name_last = str_add(st, &sl, "last");
	m->strtab_len = sl;

	unsigned char *sy = m->b + OFF_SYMTAB;
	sym_put(sy + 1 * 24, n_main, S_TEXT, VA_TEXT + OFF_TEXT, 16);
	sym_put(sy + 2 * 24, n_data, S_DATA, VA_DATA + OFF_DATA, 8);
	sym_put(sy + 3 * 24, n_undef, SHN_UNDEF, 0, 0);
	sym_put(sy + 4 * 24, n_shared, S_TEXT, VA_TEXT + OFF_TEXT + 8, 1);
	sym_put(sy + 5 * 24, m->name_last, S_RODATA, VA_TEXT + OFF_RODATA, 4);

	size_t dl = 0;
	unsigned char *ds = m->b + OFF_DYNSTR;
	str_add(ds, &dl, "");
	uint32_t n_dyn = str_add(ds, &dl, "dyn_fn");
	uint32_t n_dshared = str_add(ds, &dl, "shared");
	unsigned char *dy = m->b + OFF_DYNSYM;
	sym_put(dy + 1 * 24, n_dyn, S_TEXT, VA_TEXT + OFF_TEXT + 4, 4);
	sym_put(dy + 2 * 24, n_dshared, S_TEXT, VA_TEXT + OFF_TEXT + 4, 2);

	size_t hl = 0;
	unsigned char *hs = m->b + OFF_SHSTR;
	str_add(hs, &hl, "");
	uint32_t h_text = str_add(hs, &hl, ".text");
	uint32_t h_rodata = str_add(hs, &hl, ".rodata");
	uint32_t h_data = str_add(hs, &hl, ".data");
	uint32_t h_symtab = str_add(hs, &hl, ".symtab");
	uint32_t h_strtab = str_add(hs, &hl, ".strtab");
	uint32_t h_dynsym = str_add(hs, &hl, ".dynsym");
	uint32_t h_dynstr = str_add(hs, &hl, ".dynstr");
	uint32_t h_shstr = str_add(hs, &hl, ".shstrtab");

	struct {
		uint32_t name, type;
		uint64_t flags, addr, off, size;
		uint32_t link;
		uint64_t entsize;
	} secs[NSEC] = {
		[S_TEXT] = { h_text, SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, VA_TEXT + OFF_TEXT,
			     OFF_TEXT, 16, 0, 0 },
		[S_RODATA] = { h_rodata, SHT_PROGBITS, SHF_ALLOC, VA_TEXT + OFF_RODATA, OFF_RODATA,
			       32, 0, 0 },
		[S_DATA] = { h_data, SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, VA_DATA + OFF_DATA,
			     OFF_DATA, 0x40, 0, 0 },
		[S_SYMTAB] = { h_symtab, SHT_SYMTAB, 0, 0, OFF_SYMTAB, 6 * 24, S_STRTAB, 24 },
		[S_STRTAB] = { h_strtab, SHT_STRTAB, 0, 0, OFF_STRTAB, sl, 0, 0 },
		[S_DYNSYM] = { h_dynsym, SHT_DYNSYM, SHF_ALLOC, 0, OFF_DYNSYM, 3 * 24, S_DYNSTR, 24 },
		[S_DYNSTR] = { h_dynstr, SHT_STRTAB, SHF_ALLOC, 0, OFF_DYNSTR, dl, 0, 0 },
		[S_SHSTR] = { h_shstr, SHT_STRTAB, 0, 0, OFF_SHSTR, hl, 0, 0 },
	};
	for (int i = 0; i < NSEC; i++) {
		Elf64_Shdr s = { .sh_name = secs[i].name, .sh_type = secs[i].type,
				 .sh_flags = secs[i].flags, .sh_addr = secs[i].addr,
				 .sh_offset = secs[i].off, .sh_size = secs[i].size,
				 .sh_link = secs[i].link, .sh_info = 0, .sh_addralign = 1,
				 .sh_entsize = secs[i].entsize };
		sh_put(m, i, &s);
	}

	Elf64_Ehdr h;
	memset(&h, 0, sizeof(h));
	memcpy(h.e_ident, ELFMAG, SELFMAG);
	h.e_ident[EI_CLASS] = ELFCLASS64;
	h.e_ident[EI_DATA] = ELFDATA2LSB;
	h.e_ident[EI_VERSION] = EV_CURRENT;
	h.e_type = ET_EXEC;
	h.e_machine = EM_X86_64;
	h.e_version = EV_CURRENT;
	h.e_entry = VA_TEXT + OFF_TEXT;
	h.e_phoff = OFF_PH;
	h.e_shoff = OFF_SH;
	h.e_ehsize = sizeof(Elf64_Ehdr);
	h.e_phentsize = sizeof(Elf64_Phdr);
	h.e_phnum = 2;
	h.e_shentsize = sizeof(Elf64_Shdr);
	h.e_shnum = NSEC;
	h.e_shstrndx = S_SHSTR;
	eh_put(m, &h);
}

static int probe_img(const struct img *m)
{
	return probe(write_tmp(m->b, m->size));
}

static int open_img(const struct img *m, struct elf_file *e)
{
	return elf_open(e, write_tmp(m->b, m->size));
}

static int sym(const struct img *m, const char *name, uint64_t *value)
{
	struct elf_file e;
	int rc = open_img(m, &e);
	if (rc)
		return rc;
	uint64_t sz;
	rc = elf_find_symbol(&e, name, value, &sz);
	elf_close(&e);
	return rc;
}

static int sec(const struct img *m, const char *name, uint64_t *addr)
{
	struct elf_file e;
	int rc = open_img(m, &e);
	if (rc)
		return rc;
	uint64_t sz;
	rc = elf_find_section(&e, name, addr, &sz);
	elf_close(&e);
	return rc;
}

TEST(synthetic_valid)
{
	struct img m;
	build(&m);
	struct elf_file e;
	int rc = open_img(&m, &e);
	CHECK_EQ_INT(rc, 0);
	if (rc)
		return;
	CHECK_EQ_INT(e.type, ET_EXEC);
	CHECK_EQ_INT(e.load_vaddr, VA_TEXT);
	CHECK_EQ_INT(e.load_offset, 0);
	CHECK_EQ_INT(e.size, IMG_SIZE);

	uint64_t v = 0, sz = 0;
	CHECK_EQ_INT(elf_find_symbol(&e, "main", &v, &sz), 0);
	CHECK_EQ_INT(v, VA_TEXT + OFF_TEXT);
	CHECK_EQ_INT(sz, 16);
	CHECK_EQ_INT(elf_find_symbol(&e, "data_var", &v, &sz), 0);
	CHECK_EQ_INT(v, VA_DATA + OFF_DATA);
	CHECK_EQ_INT(elf_find_symbol(&e, "dyn_fn", &v, &sz), 0);
	CHECK_EQ_INT(v, VA_TEXT + OFF_TEXT + 4);
	/* .dynsym is searched first */
	CHECK_EQ_INT(elf_find_symbol(&e, "shared", &v, &sz), 0);
	CHECK_EQ_INT(v, VA_TEXT + OFF_TEXT + 4);
	CHECK_EQ_INT(sz, 2);
	CHECK_EQ_INT(elf_find_symbol(&e, "last", &v, &sz), 0);
	CHECK_EQ_INT(v, VA_TEXT + OFF_RODATA);
	/* undefined symbols, prefixes and extensions are not found */
	CHECK_EQ_INT(elf_find_symbol(&e, "undef_sym", &v, &sz), ERR_NOTFOUND);
	CHECK_EQ_INT(elf_find_symbol(&e, "mai", &v, &sz), ERR_NOTFOUND);
	CHECK_EQ_INT(elf_find_symbol(&e, "mainx", &v, &sz), ERR_NOTFOUND);
	CHECK_EQ_INT(elf_find_symbol(&e, "", &v, &sz), ERR_NOTFOUND);

	uint64_t a = 0;
	CHECK_EQ_INT(elf_find_section(&e, ".rodata", &a, &sz), 0);
	CHECK_EQ_INT(a, VA_TEXT + OFF_RODATA);
	CHECK_EQ_INT(sz, 32);
	CHECK_EQ_INT(elf_find_section(&e, ".text", &a, &sz), 0);
	CHECK_EQ_INT(a, VA_TEXT + OFF_TEXT);
	CHECK_EQ_INT(elf_find_section(&e, ".shstrtab", &a, &sz), 0);
	CHECK_EQ_INT(elf_find_section(&e, ".tex", &a, &sz), ERR_NOTFOUND);
	CHECK_EQ_INT(elf_find_section(&e, ".bss", &a, &sz), ERR_NOTFOUND);

	uint64_t dv = 0;
	CHECK_EQ_INT(elf_read_vaddr(&e, VA_DATA + OFF_DATA, &dv, 8), 0);
	CHECK_EQ_INT(dv, DATA_VALUE);
	char s[20];
	CHECK_EQ_INT(elf_read_vaddr(&e, VA_TEXT + OFF_RODATA, s, 20), 0);
	CHECK_STR(s, "hello-rodata-marker");
	/* the last byte of a segment's file part, and one past */
	unsigned char byte;
	CHECK_EQ_INT(elf_read_vaddr(&e, VA_DATA + OFF_DATA + 0x3f, &byte, 1), 0);
	CHECK_EQ_INT(elf_read_vaddr(&e, VA_DATA + OFF_DATA + 0x3f, s, 2), ERR_NOTFOUND);
	/* bss (memsz beyond filesz) has no file data */
	CHECK_EQ_INT(elf_read_vaddr(&e, VA_DATA + OFF_DATA + 0x80, &dv, 8), ERR_NOTFOUND);
	CHECK_EQ_INT(elf_read_vaddr(&e, VA_TEXT - 8, &dv, 8), ERR_NOTFOUND);
	CHECK_EQ_INT(elf_read_vaddr(&e, VA_TEXT - 4, &dv, 8), ERR_NOTFOUND);
	CHECK_EQ_INT(elf_read_vaddr(&e, UINT64_MAX - 3, &dv, 8), ERR_NOTFOUND);

	struct scan_ctx c = { &e, false, "hello-rodata-marker", 0 };
	size_t avail = 0;
	const unsigned char *hit = elf_scan_rodata(&e, 'h', scan_match, &c, &avail);
	CHECK(hit != NULL && memcmp(hit, "hello-rodata-marker", 20) == 0);
	CHECK_EQ_INT(avail, OFF_DATA - OFF_RODATA);
	/* the writable segment is not searched */
	c.want = "hello-rw-marker";
	CHECK(elf_scan_rodata(&e, 'h', scan_match, &c, &avail) == NULL);
	CHECK(!c.out_of_bounds);
	elf_close(&e);
	CHECK(e.data == NULL && e.fd < 0 && e.npieces == 0);
	/* closing twice is harmless */
	elf_close(&e);
}

TEST(open_errors)
{
	struct elf_file e;
	char path[400];
	snprintf(path, sizeof(path), "%s/does-not-exist", tmpdir);
	CHECK_EQ_INT(elf_open(&e, path), ERR_NOTFOUND);
	snprintf(path, sizeof(path), "%s/does-not-exist/below", tmpdir);
	CHECK_EQ_INT(elf_open(&e, path), ERR_NOTFOUND);
	CHECK_EQ_INT(elf_open(&e, tmpdir), ERR_INVAL); /* a directory */
	CHECK_EQ_INT(elf_open(&e, "/dev/null"), ERR_INVAL);
	CHECK(e.data == NULL);
	/* a FIFO where a library was (a target can swap one in): rejected at
	 * once, not a blocking open; the alarm turns a hang into a failure */
	snprintf(path, sizeof(path), "%s/fifo", tmpdir);
	CHECK_EQ_INT(mkfifo(path, 0600), 0);
	alarm(10);
	CHECK_EQ_INT(elf_open(&e, path), ERR_INVAL);
	alarm(0);
	unlink(path);

	CHECK_EQ_INT(elf_open(&e, write_tmp("", 0)), ERR_INVAL);
	static const char text[] = "#!/bin/sh\necho this is not an ELF file at all, but long enough\n"
				   "to cover a whole ELF header and then some more bytes.\n";
	CHECK_EQ_INT(elf_open(&e, write_tmp(text, sizeof(text) - 1)), ERR_INVAL);
	unsigned char zeros[4096] = { 0 };
	CHECK_EQ_INT(elf_open(&e, write_tmp(zeros, sizeof(zeros))), ERR_INVAL);
	CHECK_EQ_INT(elf_open(&e, write_tmp("\177ELF", 4)), ERR_INVAL);
}

TEST(wrong_kind)
{
	struct img m;
	struct elf_file e;
	/* 32-bit */
	build(&m);
	m.b[EI_CLASS] = ELFCLASS32;
	CHECK_EQ_INT(open_img(&m, &e), ERR_INVAL);
	/* a real 32-bit header: a well-formed Elf32_Ehdr */
	Elf32_Ehdr h32;
	memset(&h32, 0, sizeof(h32));
	memcpy(h32.e_ident, ELFMAG, SELFMAG);
	h32.e_ident[EI_CLASS] = ELFCLASS32;
	h32.e_ident[EI_DATA] = ELFDATA2LSB;
	h32.e_ident[EI_VERSION] = EV_CURRENT;
	h32.e_type = ET_EXEC;
	h32.e_machine = EM_386;
	h32.e_phoff = sizeof(h32);
	h32.e_phentsize = sizeof(Elf32_Phdr);
	h32.e_phnum = 1;
	unsigned char f32[256] = { 0 };
	memcpy(f32, &h32, sizeof(h32));
	Elf32_Phdr p32 = { .p_type = PT_LOAD, .p_vaddr = 0x8048000, .p_filesz = 256 };
	memcpy(f32 + sizeof(h32), &p32, sizeof(p32));
	CHECK_EQ_INT(elf_open(&e, write_tmp(f32, sizeof(f32))), ERR_INVAL);
	/* invalid class */
	build(&m);
	m.b[EI_CLASS] = 7;
	CHECK_EQ_INT(open_img(&m, &e), ERR_INVAL);
	/* big-endian */
	build(&m);
	m.b[EI_DATA] = ELFDATA2MSB;
	CHECK_EQ_INT(open_img(&m, &e), ERR_INVAL);
	/* relocatable object and core file */
	build(&m);
	Elf64_Ehdr h = eh_get(&m);
	h.e_type = ET_REL;
	eh_put(&m, &h);
	CHECK_EQ_INT(open_img(&m, &e), ERR_INVAL);
	h.e_type = ET_CORE;
	eh_put(&m, &h);
	CHECK_EQ_INT(open_img(&m, &e), ERR_INVAL);
	/* a shared object is fine */
	h.e_type = ET_DYN;
	eh_put(&m, &h);
	CHECK_EQ_INT(open_img(&m, &e), 0);
	CHECK_EQ_INT(e.type, ET_DYN);
	elf_close(&e);
	/* bad magic */
	build(&m);
	m.b[3] = 'X';
	CHECK_EQ_INT(open_img(&m, &e), ERR_INVAL);
}

/* Every truncation of the synthetic file: the open fails or every lookup
 * stays inside what is left. */
TEST(truncated)
{
	struct img m;
	build(&m);
	int opened = 0, ok = 1;
	probe_bounds_ok = true;
	for (size_t n = 0; n <= IMG_SIZE; n++) {
		struct elf_file e;
		int rc = elf_open(&e, write_tmp(m.b, n));
		if (n < sizeof(Elf64_Ehdr) || n < OFF_PH + sizeof(Elf64_Phdr))
			ok &= rc == ERR_INVAL;
		if (rc == 0) {
			opened++;
			uint64_t v, sz;
			int srec = elf_find_symbol(&e, "main", &v, &sz);
			/* main is found once the headers up to its string
			 * table's are there (the tables themselves come
			 * earlier in the file) */
			if (n >= OFF_SH + (S_STRTAB + 1) * sizeof(Elf64_Shdr))
				ok &= srec == 0 && v == VA_TEXT + OFF_TEXT;
			else
				ok &= srec == ERR_NOTFOUND;
			elf_close(&e);
		}
		probe(tmpfile_path); /* just written */
	}
	CHECK(ok);
	CHECK(probe_bounds_ok);
	CHECK(opened > 0);
}

TEST(bad_header_tables)
{
	struct img m;
	struct elf_file e;
	uint64_t v, a;
	Elf64_Ehdr h;
	probe_bounds_ok = true;

	/* program headers: beyond the end, overflowing, entry size too small,
	 * a count running past the end, no PT_LOAD at all */
	static const uint64_t bad_offs[] = { IMG_SIZE, IMG_SIZE - 8, 1ULL << 40, UINT64_MAX,
					     UINT64_MAX - 30, UINT64_MAX - sizeof(Elf64_Phdr) + 1 };
	for (size_t i = 0; i < sizeof(bad_offs) / sizeof(bad_offs[0]); i++) {
		build(&m);
		h = eh_get(&m);
		h.e_phoff = bad_offs[i];
		eh_put(&m, &h);
		CHECK_EQ_INT(open_img(&m, &e), ERR_INVAL);
		probe_img(&m);
	}
	build(&m);
	h = eh_get(&m);
	h.e_phentsize = 8;
	eh_put(&m, &h);
	CHECK_EQ_INT(open_img(&m, &e), ERR_INVAL);
	h.e_phentsize = 0;
	eh_put(&m, &h);
	CHECK_EQ_INT(open_img(&m, &e), ERR_INVAL);
	build(&m);
	h = eh_get(&m);
	h.e_phnum = 0;
	eh_put(&m, &h);
	CHECK_EQ_INT(open_img(&m, &e), ERR_INVAL);
	h.e_phnum = 0xffff; /* the first entry is still a PT_LOAD */
	eh_put(&m, &h);
	CHECK_EQ_INT(probe_img(&m), 0);
	CHECK_EQ_INT(sym(&m, "data_var", &v), 0);
	build(&m);
	Elf64_Phdr ph = ph_get(&m, 0);
	ph.p_type = PT_NOTE;
	ph_put(&m, 0, &ph);
	ph = ph_get(&m, 1);
	ph.p_type = PT_DYNAMIC;
	ph_put(&m, 1, &ph);
	CHECK_EQ_INT(open_img(&m, &e), ERR_INVAL);

	/* section headers: offset beyond/overflowing, too few bytes left, a
	 * count far past the end, a tiny entry size; open works, lookups fail */
	static const uint64_t bad_shoffs[] = { IMG_SIZE, IMG_SIZE - 1, IMG_SIZE - 63,
					       1ULL << 40, UINT64_MAX, UINT64_MAX - 63 };
	for (size_t i = 0; i < sizeof(bad_shoffs) / sizeof(bad_shoffs[0]); i++) {
		build(&m);
		h = eh_get(&m);
		h.e_shoff = bad_shoffs[i];
		eh_put(&m, &h);
		CHECK_EQ_INT(sym(&m, "main", &v), ERR_NOTFOUND);
		CHECK_EQ_INT(sec(&m, ".text", &a), ERR_NOTFOUND);
		CHECK_EQ_INT(probe_img(&m), 0);
	}
	build(&m);
	h = eh_get(&m);
	h.e_shnum = 0xffff;
	eh_put(&m, &h);
	CHECK_EQ_INT(sym(&m, "main", &v), 0); /* the real entries come first */
	CHECK_EQ_INT(sym(&m, "nothere", &v), ERR_NOTFOUND);
	CHECK_EQ_INT(sec(&m, "nothere", &a), ERR_NOTFOUND);
	probe_img(&m);
	h.e_shnum = 0;
	eh_put(&m, &h);
	CHECK_EQ_INT(sym(&m, "main", &v), ERR_NOTFOUND);
	CHECK_EQ_INT(sec(&m, ".text", &a), ERR_NOTFOUND);
	build(&m);
	h = eh_get(&m);
	h.e_shentsize = 16;
	eh_put(&m, &h);
	CHECK_EQ_INT(sym(&m, "main", &v), ERR_NOTFOUND);
	CHECK_EQ_INT(sec(&m, ".text", &a), ERR_NOTFOUND);
	probe_img(&m);

	/* the section name table index out of range, or SHN_XINDEX: sections
	 * cannot be named, symbols are still found */
	static const uint16_t bad_strndx[] = { NSEC, 0xff00, SHN_XINDEX, 0 };
	for (size_t i = 0; i < sizeof(bad_strndx) / sizeof(bad_strndx[0]); i++) {
		build(&m);
		h = eh_get(&m);
		h.e_shstrndx = bad_strndx[i];
		eh_put(&m, &h);
		CHECK_EQ_INT(sec(&m, ".text", &a), ERR_NOTFOUND);
		CHECK_EQ_INT(sym(&m, "main", &v), 0);
		probe_img(&m);
	}
	/* shstrndx pointing at the symbol table: names are garbage, no crash */
	build(&m);
	h = eh_get(&m);
	h.e_shstrndx = S_SYMTAB;
	eh_put(&m, &h);
	CHECK_EQ_INT(sec(&m, ".text", &a), ERR_NOTFOUND);
	CHECK(probe_bounds_ok);
}

TEST(bad_sections)
{
	struct img m;
	uint64_t v, a;
	Elf64_Shdr s;
	probe_bounds_ok = true;

	/* section names out of range, at the end of the table, on its last
	 * NUL (an empty name) */
	build(&m);
	uint32_t shstr_size = (uint32_t)sh_get(&m, S_SHSTR).sh_size;
	const uint32_t bad_names[] = { 0x1000, 0xffffffffu, shstr_size, shstr_size - 1 };
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		build(&m);
		s = sh_get(&m, S_RODATA);
		s.sh_name = bad_names[i];
		sh_put(&m, S_RODATA, &s);
		CHECK_EQ_INT(sec(&m, ".rodata", &a), ERR_NOTFOUND);
		CHECK_EQ_INT(sec(&m, ".data", &a), 0); /* the others are still found */
		probe_img(&m);
	}
	/* a name running to the end of the table without its NUL: the
	 * comparison must stop at the table's end */
	build(&m);
	s = sh_get(&m, S_SHSTR);
	s.sh_size -= 1; /* cut the NUL of ".shstrtab", the last name */
	sh_put(&m, S_SHSTR, &s);
	CHECK_EQ_INT(sec(&m, ".shstrtab", &a), ERR_NOTFOUND);
	CHECK_EQ_INT(sec(&m, ".dynstr", &a), 0);
	/* the name table itself out of the file */
	static const uint64_t bad_sizes[] = { 1ULL << 40, UINT64_MAX, IMG_SIZE };
	for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		build(&m);
		s = sh_get(&m, S_SHSTR);
		s.sh_size = bad_sizes[i];
		sh_put(&m, S_SHSTR, &s);
		CHECK_EQ_INT(sec(&m, ".text", &a), ERR_NOTFOUND);
		build(&m);
		s = sh_get(&m, S_SHSTR);
		s.sh_offset = bad_sizes[i];
		sh_put(&m, S_SHSTR, &s);
		CHECK_EQ_INT(sec(&m, ".text", &a), ERR_NOTFOUND);
		probe_img(&m);
	}
	build(&m);
	s = sh_get(&m, S_SHSTR);
	s.sh_offset = UINT64_MAX - 8;
	s.sh_size = 16; /* offset + size wraps around */
	sh_put(&m, S_SHSTR, &s);
	CHECK_EQ_INT(sec(&m, ".text", &a), ERR_NOTFOUND);

	/* symbol table whose sh_link points nowhere, at the NULL section, at
	 * itself */
	static const uint32_t bad_links[] = { NSEC, 200, 0xffffffffu, 0, S_SYMTAB, S_TEXT };
	for (size_t i = 0; i < sizeof(bad_links) / sizeof(bad_links[0]); i++) {
		build(&m);
		s = sh_get(&m, S_SYMTAB);
		s.sh_link = bad_links[i];
		sh_put(&m, S_SYMTAB, &s);
		CHECK_EQ_INT(sym(&m, "main", &v), ERR_NOTFOUND);
		CHECK_EQ_INT(sym(&m, "dyn_fn", &v), 0); /* .dynsym is intact */
		probe_img(&m);
	}

	/* huge sizes and offsets of the symbol and string tables */
	static const uint64_t huge[] = { IMG_SIZE, IMG_SIZE - OFF_SYMTAB + 1, 1ULL << 40,
					 UINT64_MAX, UINT64_MAX - 23 };
	for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		build(&m);
		s = sh_get(&m, S_SYMTAB);
		s.sh_size = huge[i];
		sh_put(&m, S_SYMTAB, &s);
		if (huge[i] > IMG_SIZE - OFF_SYMTAB)
			CHECK_EQ_INT(sym(&m, "main", &v), ERR_NOTFOUND);
		CHECK_EQ_INT(sym(&m, "dyn_fn", &v), 0);
		probe_img(&m);

		build(&m);
		s = sh_get(&m, S_SYMTAB);
		s.sh_offset = huge[i];
		sh_put(&m, S_SYMTAB, &s);
		CHECK_EQ_INT(sym(&m, "main", &v), ERR_NOTFOUND);
		probe_img(&m);

		build(&m);
		s = sh_get(&m, S_STRTAB);
		s.sh_size = huge[i];
		sh_put(&m, S_STRTAB, &s);
		if (huge[i] > IMG_SIZE - OFF_STRTAB)
			CHECK_EQ_INT(sym(&m, "main", &v), ERR_NOTFOUND);
		probe_img(&m);

		build(&m);
		s = sh_get(&m, S_STRTAB);
		s.sh_offset = huge[i];
		sh_put(&m, S_STRTAB, &s);
		CHECK_EQ_INT(sym(&m, "main", &v), ERR_NOTFOUND);
		probe_img(&m);

		build(&m);
		s = sh_get(&m, S_DYNSYM);
		s.sh_size = huge[i];
		s.sh_entsize = huge[i];
		sh_put(&m, S_DYNSYM, &s);
		CHECK_EQ_INT(sym(&m, "dyn_fn", &v), ERR_NOTFOUND);
		CHECK_EQ_INT(sym(&m, "main", &v), 0);
		probe_img(&m);
	}
	/* offset + size wrapping around */
	build(&m);
	s = sh_get(&m, S_SYMTAB);
	s.sh_offset = UINT64_MAX - 8;
	s.sh_size = 48;
	sh_put(&m, S_SYMTAB, &s);
	CHECK_EQ_INT(sym(&m, "main", &v), ERR_NOTFOUND);
	probe_img(&m);

	/* entry sizes: zero, too small, odd but large enough, huge */
	static const uint64_t entsizes[] = { 0, 1, 23, UINT64_MAX };
	for (size_t i = 0; i < sizeof(entsizes) / sizeof(entsizes[0]); i++) {
		build(&m);
		s = sh_get(&m, S_SYMTAB);
		s.sh_entsize = entsizes[i];
		sh_put(&m, S_SYMTAB, &s);
		CHECK_EQ_INT(sym(&m, "main", &v), ERR_NOTFOUND);
		probe_img(&m);
	}
	build(&m);
	s = sh_get(&m, S_SYMTAB);
	s.sh_entsize = 48; /* every other symbol: main (1) is skipped, data_var (2) seen */
	sh_put(&m, S_SYMTAB, &s);
	CHECK_EQ_INT(sym(&m, "main", &v), ERR_NOTFOUND);
	CHECK_EQ_INT(sym(&m, "data_var", &v), 0);
	probe_img(&m);

	/* symbol names: the last one unterminated at the end of the string
	 * table; st_name at and past the end */
	build(&m);
	s = sh_get(&m, S_STRTAB);
	s.sh_size = m.strtab_len - 1;
	sh_put(&m, S_STRTAB, &s);
	CHECK_EQ_INT(sym(&m, "last", &v), ERR_NOTFOUND);
	CHECK_EQ_INT(sym(&m, "las", &v), ERR_NOTFOUND);
	CHECK_EQ_INT(sym(&m, "main", &v), 0);
	probe_img(&m);
	/* the same with the string table at the very end of the file, so a
	 * read past it would leave the file */
	build(&m);
	memcpy(m.b + IMG_SIZE - 4, "last", 4);
	m.size = IMG_SIZE;
	s = sh_get(&m, S_STRTAB);
	s.sh_offset = IMG_SIZE - 4 - m.name_last;
	s.sh_size = m.name_last + 4;
	sh_put(&m, S_STRTAB, &s);
	CHECK_EQ_INT(sym(&m, "last", &v), ERR_NOTFOUND);
	probe_img(&m);
	static const uint32_t bad_st_names[] = { 0, 0x40 /* past */, 0xffffffffu };
	for (size_t i = 0; i < sizeof(bad_st_names) / sizeof(bad_st_names[0]); i++) {
		build(&m);
		Elf64_Sym y;
		memcpy(&y, m.b + OFF_SYMTAB + 24, sizeof(y)); /* "main" */
		y.st_name = bad_st_names[i] ? bad_st_names[i] : (uint32_t)m.strtab_len;
		memcpy(m.b + OFF_SYMTAB + 24, &y, sizeof(y));
		CHECK_EQ_INT(sym(&m, "main", &v), ERR_NOTFOUND);
		CHECK_EQ_INT(sym(&m, "data_var", &v), 0);
		probe_img(&m);
	}
	CHECK(probe_bounds_ok);
}

TEST(bad_segments)
{
	struct img m;
	struct elf_file e;
	Elf64_Phdr ph;
	uint64_t dv;
	probe_bounds_ok = true;

	/* a data segment whose file part lies outside the file */
	static const uint64_t bad[] = { IMG_SIZE, IMG_SIZE - 4, 1ULL << 40, UINT64_MAX,
					UINT64_MAX - 8 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		build(&m);
		ph = ph_get(&m, 1);
		ph.p_offset = bad[i];
		ph_put(&m, 1, &ph);
		CHECK_EQ_INT(open_img(&m, &e), 0);
		CHECK_EQ_INT(elf_read_vaddr(&e, VA_DATA + OFF_DATA, &dv, 8), ERR_NOTFOUND);
		elf_close(&e);
		probe_img(&m);

		build(&m);
		ph = ph_get(&m, 1);
		ph.p_filesz = bad[i];
		ph.p_memsz = bad[i];
		ph_put(&m, 1, &ph);
		CHECK_EQ_INT(open_img(&m, &e), 0);
		/* inside the file: readable; past it: not */
		CHECK_EQ_INT(elf_read_vaddr(&e, VA_DATA + OFF_DATA, &dv, 8), 0);
		CHECK_EQ_INT(elf_read_vaddr(&e, VA_DATA + OFF_DATA + IMG_SIZE, &dv, 8),
			     ERR_NOTFOUND);
		elf_close(&e);
		probe_img(&m);

		/* the read-only segment too (scan_rodata must skip it) */
		build(&m);
		ph = ph_get(&m, 0);
		ph.p_filesz = bad[i];
		ph_put(&m, 0, &ph);
		probe_img(&m);
		build(&m);
		ph = ph_get(&m, 0);
		ph.p_offset = bad[i];
		ph_put(&m, 0, &ph);
		probe_img(&m);
	}
	/* p_vaddr near the top of the address space */
	build(&m);
	ph = ph_get(&m, 1);
	ph.p_vaddr = UINT64_MAX - 4;
	ph_put(&m, 1, &ph);
	CHECK_EQ_INT(open_img(&m, &e), 0);
	CHECK_EQ_INT(elf_read_vaddr(&e, UINT64_MAX - 4, &dv, 4), 0);
	(void)elf_read_vaddr(&e, UINT64_MAX - 4, &dv, 8);
	(void)elf_read_vaddr(&e, UINT64_MAX, &dv, 1);
	CHECK_EQ_INT(elf_read_vaddr(&e, UINT64_MAX - 5, &dv, 4), ERR_NOTFOUND);
	elf_close(&e);
	probe_img(&m);
	CHECK(probe_bounds_ok);
}

/* ---- real binaries ---------------------------------------------------- */

int main(void); /* its address is checked against our .symtab */

/* a constant in our own read-only data, found through our .symtab */
const uint64_t strobe_test_elf_marker = 0x5eb0c0ffee15900dULL;
static const char rodata_marker[] = "strobe-test-elf-rodata-marker-7f3a";

/* The load bias of the file at path in our own address space: the start of
 * the mapping with file offset e->load_offset minus e->load_vaddr. */
static bool load_bias(const struct maps *m, const struct elf_file *e, const char *path,
		      uint64_t *bias)
{
	char real[4096];
	if (!realpath(path, real))
		return false;
	for (size_t i = 0; i < m->n; i++) {
		if (strcmp(m->v[i].path, real) == 0 && m->v[i].offset == e->load_offset) {
			*bias = m->v[i].start - e->load_vaddr;
			return true;
		}
	}
	return false;
}

TEST(self_exe)
{
	/* keep the markers referenced so they are emitted */
	CHECK(strobe_test_elf_marker != 0 && rodata_marker[0] == 's');
	struct maps m;
	CHECK_EQ_INT(maps_read(getpid(), &m), 0);
	struct elf_file e;
	int rc = elf_open(&e, "/proc/self/exe");
	CHECK_EQ_INT(rc, 0);
	if (rc) {
		maps_release(&m);
		return;
	}
	CHECK(e.type == ET_DYN || e.type == ET_EXEC);
	uint64_t v = 0, sz = 0, taddr = 0, tsize = 0;
	CHECK_EQ_INT(elf_find_section(&e, ".text", &taddr, &tsize), 0);
	CHECK(tsize > 0);
	/* the test binary is built with -g and not stripped */
	rc = elf_find_symbol(&e, "main", &v, &sz);
	CHECK_EQ_INT(rc, 0);
	if (rc == 0) {
		CHECK(v >= taddr && v < taddr + tsize);
		CHECK(sz > 0);
		uint64_t bias;
		if (load_bias(&m, &e, "/proc/self/exe", &bias))
			CHECK_EQ_INT(v + bias, (uint64_t)(uintptr_t)&main);
		else
			CHECK(0);
	}
	rc = elf_find_symbol(&e, "strobe_test_elf_marker", &v, &sz);
	CHECK_EQ_INT(rc, 0);
	if (rc == 0) {
		CHECK_EQ_INT(sz, 8);
		uint64_t val = 0;
		CHECK_EQ_INT(elf_read_vaddr(&e, v, &val, 8), 0);
		CHECK_EQ_INT(val, strobe_test_elf_marker);
	}
	CHECK_EQ_INT(elf_find_symbol(&e, "no_such_symbol_in_strobe_tests", &v, &sz), ERR_NOTFOUND);
	/* module functions are there too */
	CHECK_EQ_INT(elf_find_symbol(&e, "elf_open", &v, &sz), 0);

	struct scan_ctx c = { &e, false, rodata_marker, 0 };
	size_t avail = 0;
	const unsigned char *hit = elf_scan_rodata(&e, 's', scan_match, &c, &avail);
	CHECK(hit != NULL);
	if (hit)
		CHECK(memcmp(hit, rodata_marker, sizeof(rodata_marker)) == 0);
	CHECK(!c.out_of_bounds);
	elf_close(&e);
	maps_release(&m);
}

static const char *libc_path(char *out, size_t n)
{
	struct maps m;
	if (maps_read(getpid(), &m) != 0)
		return NULL;
	const char *found = NULL;
	for (size_t i = 0; i < m.n && !found; i++) {
		const char *base = strrchr(m.v[i].path, '/');
		if (base && (strcmp(base, "/libc.so.6") == 0) && strlen(m.v[i].path) < n) {
			strcpy(out, m.v[i].path);
			found = out;
		}
	}
	maps_release(&m);
	return found;
}

TEST(libc)
{
	char path[4096];
	if (!libc_path(path, sizeof(path))) {
		printf("test_elf: note: libc.so.6 not mapped, libc checks skipped\n");
		return;
	}
	struct maps m;
	CHECK_EQ_INT(maps_read(getpid(), &m), 0);
	struct elf_file e;
	int rc = elf_open(&e, path);
	CHECK_EQ_INT(rc, 0);
	if (rc) {
		maps_release(&m);
		return;
	}
	CHECK_EQ_INT(e.type, ET_DYN);
	uint64_t v = 0, sz = 0;
	CHECK_EQ_INT(elf_find_symbol(&e, "malloc", &v, &sz), 0);
	CHECK(sz > 0);
	/* getpid is not intercepted by the sanitizers: its address in our
	 * process is libc's symbol plus libc's load bias */
	rc = elf_find_symbol(&e, "getpid", &v, &sz);
	CHECK_EQ_INT(rc, 0);
	uint64_t bias;
	CHECK(load_bias(&m, &e, path, &bias));
	if (rc == 0 && load_bias(&m, &e, path, &bias))
		CHECK_EQ_INT(v + bias, (uint64_t)(uintptr_t)&getpid);
	uint64_t a, s;
	CHECK_EQ_INT(elf_find_section(&e, ".text", &a, &s), 0);
	CHECK_EQ_INT(elf_find_section(&e, ".dynsym", &a, &s), 0);
	elf_close(&e);
	maps_release(&m);
}

TEST(libpython)
{
	const char *home = getenv("HOME");
	char path[4096];
	snprintf(path, sizeof(path), "%s/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0",
		 home ? home : "/nonexistent");
	if (access(path, R_OK) != 0) {
		printf("test_elf: note: %s absent, libpython checks skipped\n", path);
		return;
	}
	struct elf_file e;
	int rc = elf_open(&e, path);
	CHECK_EQ_INT(rc, 0);
	if (rc)
		return;
	uint64_t v = 0, sz = 0, rt = 0;
	CHECK_EQ_INT(elf_find_symbol(&e, "_PyRuntime", &rt, &sz), 0);
	CHECK(rt != 0 && sz > 1000);
	CHECK_EQ_INT(elf_find_symbol(&e, "PyCode_Type", &v, &sz), 0);
	CHECK(v != 0 && sz > 0);
	rc = elf_find_symbol(&e, "Py_Version", &v, &sz);
	CHECK_EQ_INT(rc, 0);
	if (rc == 0) {
		uint32_t ver = 0;
		CHECK_EQ_INT(elf_read_vaddr(&e, v, &ver, 4), 0);
		CHECK_EQ_INT(ver, 0x030c01f0);
	}
	/* 3.12 places _PyRuntime in a section of its own */
	uint64_t a = 0, s = 0;
	CHECK_EQ_INT(elf_find_section(&e, ".PyRuntime", &a, &s), 0);
	CHECK_EQ_INT(a, rt);
	CHECK_EQ_INT(elf_find_section(&e, ".text", &a, &s), 0);
	CHECK(s > 1000000);
	/* the lookups read the headers and the tables they need, not the
	 * file: libpython3.12 is about 25 MiB, its tables under 2 */
	CHECK(e.bytes_read > 0 && e.bytes_read < e.size / 8);
	if (e.bytes_read >= e.size / 8)
		fprintf(stderr, "  read %llu of %zu bytes\n", (unsigned long long)e.bytes_read, e.size);
	/* the version string is in read-only data */
	struct scan_ctx c = { &e, false, NULL, 0 };
	size_t avail;
	c.want = "3.12.1";
	CHECK(elf_scan_rodata(&e, '3', scan_match, &c, &avail) != NULL);
	CHECK(!c.out_of_bounds);
	elf_close(&e);
}

/* ---- mutation fuzzing of a real binary ------------------------------- */

TEST(fuzz_real_binary)
{
	const char *src = access("/bin/true", R_OK) == 0 ? "/bin/true" : "/proc/self/exe";
	size_t n = 0;
	unsigned char *orig = read_whole(src, &n);
	CHECK(orig != NULL && n >= sizeof(Elf64_Ehdr));
	if (!orig || n < sizeof(Elf64_Ehdr))
		return;
	Elf64_Ehdr h;
	memcpy(&h, orig, sizeof(h));
	uint64_t sh_lo = h.e_shoff, sh_len = (uint64_t)h.e_shnum * h.e_shentsize;
	if (sh_lo > n || sh_len > n - sh_lo)
		sh_lo = sh_len = 0;
	size_t head = n < 4096 ? n : 4096;

	/* the unmutated file works */
	probe_bounds_ok = true;
	CHECK_EQ_INT(probe(write_tmp(orig, n)), 0);
	struct elf_file e;
	uint64_t a, s;
	CHECK_EQ_INT(elf_open(&e, tmpfile_path), 0);
	CHECK_EQ_INT(elf_find_section(&e, ".text", &a, &s), 0);
	elf_close(&e);

	unsigned char *img = malloc(n);
	rng_state = 0xf022;
	int opened = 0;
	for (int it = 0; it < 3000; it++) {
		memcpy(img, orig, n);
		unsigned kind = (unsigned)(rng_next() % 4);
		unsigned flips = 1 + (unsigned)(rng_next() % 8);
		for (unsigned k = 0; k < flips; k++) {
			size_t at;
			if ((kind == 1 || kind == 3) && sh_len)
				at = (size_t)(sh_lo + rng_next() % sh_len);
			else
				at = (size_t)(rng_next() % head);
			if (kind == 2) {
				/* a whole 8-byte field set to an extreme value */
				static const uint64_t ext[] = { 0, 1, 0x7fffffff, 0xffffffff,
								UINT64_MAX, UINT64_MAX - 7,
								1ULL << 63, 0x10000 };
				uint64_t x = ext[rng_next() % 8];
				at &= ~(size_t)7;
				if (at + 8 <= n)
					memcpy(img + at, &x, 8);
			} else {
				img[at] ^= (unsigned char)(1u << (rng_next() % 8));
				if (kind == 3)
					img[at] = (unsigned char)rng_next();
			}
		}
		/* sometimes also truncate */
		size_t len = (rng_next() % 16 == 0) ? (size_t)(rng_next() % n) : n;
		if (probe(write_tmp(img, len)) == 0)
			opened++;
	}
	CHECK(probe_bounds_ok);
	CHECK(opened > 100); /* most mutations leave an openable file */
	free(img);
	free(orig);
}

/* The file is truncated by its owner (a target with a writable copy of
 * its libpython) while strobe reads it: what was read is strobe's own
 * copy, so a lookup done before still works; what was not is "not found";
 * nothing can raise SIGBUS (as touching a mapping past the new end would).
 * In a child, so that a signal is a failure here rather than the end of
 * the tests. */
static bool scan_match_any(const unsigned char *p, size_t avail, void *arg)
{
	(void)p, (void)avail, (void)arg;
	return true;
}

TEST(truncated_after_open)
{
	size_t n;
	unsigned char *orig = read_whole("/proc/self/exe", &n);
	CHECK(orig != NULL);
	if (!orig)
		return;
	write_tmp(orig, n);
	free(orig);
	pid_t pid = fork();
	if (pid == 0) {
		struct elf_file e;
		uint64_t v, sz;
		int fd = open(tmpfile_path, O_RDWR | O_CLOEXEC);
		if (fd < 0 || elf_open_fd(&e, fd) != 0)
			_exit(10);
		uint64_t before;
		if (elf_find_symbol(&e, "elf_open", &before, &sz) != 0)
			_exit(13);
		if (ftruncate(fd, 0) != 0)
			_exit(11);
		if (elf_find_symbol(&e, "elf_open", &v, &sz) != 0 || v != before ||
		    elf_find_section(&e, ".text", &v, &sz) != ERR_NOTFOUND ||
		    elf_read_vaddr(&e, before, &v, sizeof(v)) != ERR_NOTFOUND ||
		    elf_find_symbol(&e, "no_such_symbol_in_strobe_tests", &v, &sz) != ERR_NOTFOUND)
			_exit(12);
		size_t avail;
		if (elf_scan_rodata(&e, 'e', scan_match_any, NULL, &avail) != NULL)
			_exit(14);
		elf_close(&e);
		_exit(0);
	}
	int st = -1;
	CHECK_EQ_INT(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		fprintf(stderr, "  killed by signal %d\n", WTERMSIG(st));
	CHECK(WIFEXITED(st));
	CHECK_EQ_INT(WEXITSTATUS(st), 0);
}

/* A segment whose p_offset plus the offset inside it wraps around 2^64 to
 * an offset inside the file: not readable (it was read from the wrapped
 * offset, through an overflowing pointer; found by tests/fuzz/fuzz_elf.c). */
TEST(read_vaddr_offset_wraps)
{
	struct img m;
	struct elf_file e;
	uint64_t v = 0;
	build(&m);
	Elf64_Phdr ph = ph_get(&m, 1);
	ph.p_offset = (uint64_t)0 - 0x100;
	ph.p_filesz = 0x10000;
	ph.p_memsz = 0x10000;
	ph_put(&m, 1, &ph);
	CHECK_EQ_INT(open_img(&m, &e), 0);
	/* 2^64 - 0x100 + 0x100 + OFF_RODATA wraps to OFF_RODATA */
	CHECK_EQ_INT(elf_read_vaddr(&e, ph.p_vaddr + 0x100 + OFF_RODATA, &v, 8), ERR_NOTFOUND);
	CHECK_EQ_INT(elf_read_vaddr(&e, ph.p_vaddr + 0xff, &v, 1), ERR_NOTFOUND);
	CHECK_EQ_INT(elf_read_vaddr(&e, ph.p_vaddr, &v, 8), ERR_NOTFOUND);
	elf_close(&e);
}

/* A file whose n section headers are all SHT_SYMTAB naming one table of
 * nsyms symbols called "s" (section 0 is their string table), or whose n
 * program headers are all read-only PT_LOADs covering the whole file.
 * Malloc'd; *size set. */
static unsigned char *repeated_tables(unsigned n, size_t nsyms, bool segments, size_t *size)
{
	size_t nph = segments ? n : 1, nsh = segments ? 0 : n;
	size_t off_ph = sizeof(Elf64_Ehdr), off_sh = off_ph + nph * sizeof(Elf64_Phdr);
	size_t off_str = off_sh + nsh * sizeof(Elf64_Shdr), off_sym = off_str + 8;
	*size = off_sym + nsyms * sizeof(Elf64_Sym);
	unsigned char *b = calloc(1, *size);
	memcpy(b + off_str, "\0s\0", 3);
	for (size_t k = 0; k < nsyms; k++)
		sym_put(b + off_sym + k * sizeof(Elf64_Sym), 1, 1, 0x1000 + k, 8);
	for (size_t i = 0; i < nph; i++) {
		Elf64_Phdr ph = { .p_type = PT_LOAD, .p_flags = PF_R, .p_offset = 0, .p_vaddr = 0,
				  .p_filesz = *size, .p_memsz = *size };
		memcpy(b + off_ph + i * sizeof(ph), &ph, sizeof(ph));
	}
	for (size_t i = 0; i < nsh; i++) {
		Elf64_Shdr sh = { .sh_type = SHT_SYMTAB, .sh_offset = off_sym,
				  .sh_size = nsyms * sizeof(Elf64_Sym), .sh_link = 0,
				  .sh_entsize = sizeof(Elf64_Sym) };
		if (i == 0)
			sh = (Elf64_Shdr){ .sh_type = SHT_STRTAB, .sh_offset = off_str, .sh_size = 8 };
		memcpy(b + off_sh + i * sizeof(sh), &sh, sizeof(sh));
	}
	Elf64_Ehdr h;
	memset(&h, 0, sizeof(h));
	memcpy(h.e_ident, ELFMAG, SELFMAG);
	h.e_ident[EI_CLASS] = ELFCLASS64;
	h.e_ident[EI_DATA] = ELFDATA2LSB;
	h.e_type = ET_DYN;
	h.e_ehsize = sizeof(h);
	h.e_phoff = off_ph;
	h.e_phentsize = sizeof(Elf64_Phdr);
	h.e_phnum = (uint16_t)nph;
	h.e_shoff = nsh ? off_sh : 0;
	h.e_shentsize = sizeof(Elf64_Shdr);
	h.e_shnum = (uint16_t)nsh;
	memcpy(b, &h, sizeof(h));
	return b;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool never(const unsigned char *p, size_t avail, void *arg)
{
	(void)p;
	(void)avail;
	(*(uint64_t *)arg)++;
	return false;
}

/* Tables a hostile file repeats are read once: only the first SHT_SYMTAB
 * (65535 headers naming one table made 65535 passes over it: minutes for a
 * file of a few MiB), and a file's worth of read-only segments (65535
 * PT_LOADs covering the whole file made 65535 scans of it). */
TEST(repeated_tables)
{
	size_t size;
	struct elf_file e;
	uint64_t v, sz;

	/* the first symbol table only: "s" is in the second one alone */
	unsigned char *b = repeated_tables(3, 4, false, &size);
	Elf64_Shdr first;
	memcpy(&first, b + sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr) + sizeof(first), sizeof(first));
	first.sh_size = 0;
	memcpy(b + sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr) + sizeof(first), &first, sizeof(first));
	CHECK_EQ_INT(elf_parse(&e, b, size), 0);
	CHECK_EQ_INT(elf_find_symbol(&e, "s", &v, &sz), ERR_NOTFOUND);
	elf_close(&e);
	free(b);
	b = repeated_tables(3, 4, false, &size);
	CHECK_EQ_INT(elf_parse(&e, b, size), 0);
	CHECK_EQ_INT(elf_find_symbol(&e, "s", &v, &sz), 0);
	CHECK_EQ_INT(v, 0x1000);
	elf_close(&e);
	free(b);

	/* 65534 headers naming 20000 symbols: one pass is ~1 ms */
	b = repeated_tables(65535, 20000, false, &size);
	CHECK_EQ_INT(elf_parse(&e, b, size), 0);
	double t0 = now_s();
	CHECK_EQ_INT(elf_find_symbol(&e, "absent", &v, &sz), ERR_NOTFOUND);
	double took = now_s() - t0;
	CHECK(took < 1.0);
	if (took >= 1.0)
		fprintf(stderr, "test_elf: elf_find_symbol took %.1f s\n", took);
	elf_close(&e);
	free(b);

	/* 2000 read-only segments, each the whole file: a file's worth of
	 * candidates is looked at, not 2000 of them (65535 took hours) */
	b = repeated_tables(2000, 0, true, &size);
	CHECK_EQ_INT(elf_parse(&e, b, size), 0);
	uint64_t calls = 0;
	size_t avail;
	CHECK(elf_scan_rodata(&e, 0, never, &calls, &avail) == NULL);
	CHECK(calls > 0 && calls <= size);
	elf_close(&e);
	free(b);
}

int main(void)
{
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/strobe-test-elf-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	img_fd = memfd_create("strobe-test-elf", MFD_CLOEXEC);
	if (img_fd >= 0) {
		snprintf(tmpfile_path, sizeof(tmpfile_path), "/proc/self/fd/%d", img_fd);
	} else {
		snprintf(tmpfile_path, sizeof(tmpfile_path), "%s/img", tmpdir);
		img_fd = open(tmpfile_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (img_fd < 0) {
			perror(tmpfile_path);
			return 1;
		}
	}

	RUN(synthetic_valid);
	RUN(open_errors);
	RUN(wrong_kind);
	RUN(truncated);
	RUN(bad_header_tables);
	RUN(bad_sections);
	RUN(bad_segments);
	RUN(read_vaddr_offset_wraps);
	RUN(repeated_tables);
	RUN(self_exe);
	RUN(libc);
	RUN(libpython);
	RUN(fuzz_real_binary);
	RUN(truncated_after_open);

	close(img_fd);
	if (strncmp(tmpfile_path, "/proc/", 6) != 0)
		unlink(tmpfile_path);
	rmdir(tmpdir);
	return harness_done();
}
