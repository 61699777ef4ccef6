#include "process/elf.h"

#include "base/error.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Larger files than this are not a CPython binary we can use (libpython
 * is 5-30 MiB; a build with all its debug information a few times that). */
#define ELF_MAX_SIZE (512ULL << 20)

static bool in_file(const struct elf_file *e, uint64_t off, uint64_t len)
{
	return off <= e->size && len <= e->size - off;
}

/* Copy [off, off + len) of the file into buf: 0, or -1 if it is not all
 * in the file or could not be read (a file that shrank). */
static int copy_out(const struct elf_file *e, uint64_t off, void *buf, size_t len)
{
	if (!in_file(e, off, len))
		return -1;
	if (e->data) {
		memcpy(buf, e->data + off, len);
		return 0;
	}
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(e->fd, (unsigned char *)buf + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* The file's bytes [off, off + len), or NULL if they are not all in the
 * file or cannot be read.  An image in memory is its own; from a file, a
 * range is read once and kept until elf_close (a range inside one already
 * read is served from it).  What is read in all stays under twice the
 * file's size, in at most ELF_MAX_PIECES pieces. */
static const unsigned char *bytes(struct elf_file *e, uint64_t off, uint64_t len)
{
	if (!in_file(e, off, len))
		return NULL;
	if (e->data)
		return e->data + off;
	for (unsigned i = 0; i < e->npieces; i++) {
		const struct elf_piece *p = &e->pieces[i];
		if (off >= p->off && len <= p->len && off - p->off <= p->len - len)
			return p->buf + (off - p->off);
	}
	if (e->npieces == ELF_MAX_PIECES || len > 2 * (uint64_t)e->size - e->bytes_read) {
		e->limited = true;
		return NULL;
	}
	unsigned char *buf = malloc(len ? (size_t)len : 1);
	if (!buf)
		return NULL;
	if (copy_out(e, off, buf, (size_t)len) != 0) {
		free(buf);
		return NULL;
	}
	e->pieces[e->npieces++] = (struct elf_piece){ off, len, buf };
	e->bytes_read += len;
	return buf;
}

/* A header table: the entries that lie whole inside the file, read at
 * once (a lookup walks them all). */
static const unsigned char *table(struct elf_file *e, uint64_t off, unsigned num, unsigned entsize,
				  size_t min_entsize, unsigned *count)
{
	*count = 0;
	if (!num || entsize < min_entsize || !in_file(e, off, min_entsize))
		return NULL;
	uint64_t fit = (e->size - off - min_entsize) / entsize + 1;
	unsigned n = fit < num ? (unsigned)fit : num;
	const unsigned char *t = bytes(e, off, (uint64_t)(n - 1) * entsize + min_entsize);
	if (t)
		*count = n;
	return t;
}

static bool phdr_get(struct elf_file *e, unsigned i, Elf64_Phdr *out)
{
	if (!e->ph_read) {
		e->ph = table(e, e->eh.e_phoff, e->eh.e_phnum, e->eh.e_phentsize, sizeof(Elf64_Phdr),
			      &e->phn);
		e->ph_read = true;
	}
	if (i >= e->phn)
		return false;
	memcpy(out, e->ph + (size_t)i * e->eh.e_phentsize, sizeof(*out));
	return true;
}

static bool shdr_get(struct elf_file *e, unsigned i, Elf64_Shdr *out)
{
	if (!e->sh_read) {
		e->sh = table(e, e->eh.e_shoff, e->eh.e_shnum, e->eh.e_shentsize, sizeof(Elf64_Shdr),
			      &e->shn);
		e->sh_read = true;
	}
	if (i >= e->shn)
		return false;
	memcpy(out, e->sh + (size_t)i * e->eh.e_shentsize, sizeof(*out));
	return true;
}

/* The header checks and the load address, for either source. */
static int validate(struct elf_file *e)
{
	if (copy_out(e, 0, &e->eh, sizeof(e->eh)) != 0)
		return ERR_INVAL;
	const Elf64_Ehdr *h = &e->eh;
	if (memcmp(h->e_ident, ELFMAG, SELFMAG) != 0 || h->e_ident[EI_CLASS] != ELFCLASS64 ||
	    h->e_ident[EI_DATA] != ELFDATA2LSB || (h->e_type != ET_EXEC && h->e_type != ET_DYN))
		return ERR_INVAL;
	e->type = h->e_type;
	for (unsigned i = 0;; i++) {
		Elf64_Phdr ph;
		if (!phdr_get(e, i, &ph))
			return ERR_INVAL;
		if (ph.p_type == PT_LOAD) {
			/* mappings start on (4 KiB) page boundaries whatever
			 * the segment alignment is */
			e->load_vaddr = ph.p_vaddr & ~0xfffULL;
			e->load_offset = ph.p_offset & ~0xfffULL;
			return 0;
		}
	}
}

static void reset(struct elf_file *e)
{
	memset(e, 0, sizeof(*e));
	e->fd = -1;
}

int elf_open(struct elf_file *e, const char *path)
{
	reset(e);
	/* O_NONBLOCK: the path comes from the target's maps, and a FIFO put
	 * there would block open() forever; the S_ISREG check rejects it */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? ERR_NOTFOUND
		       : (errno == EACCES || errno == EPERM) ? ERR_PERM : ERR_IO;
	int rc = elf_open_fd(e, fd);
	close(fd);
	return rc;
}

int elf_open_fd(struct elf_file *e, int fd)
{
	reset(e);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < sizeof(Elf64_Ehdr) ||
	    (uint64_t)st.st_size > ELF_MAX_SIZE)
		return ERR_INVAL;
	e->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (e->fd < 0)
		return ERR_IO;
	e->size = (size_t)st.st_size;
	int rc = validate(e);
	if (rc)
		elf_close(e);
	return rc;
}

int elf_parse(struct elf_file *e, const void *data, size_t size)
{
	reset(e);
	if (size < sizeof(Elf64_Ehdr) || (uint64_t)size > ELF_MAX_SIZE)
		return ERR_INVAL;
	e->data = data;
	e->size = size;
	int rc = validate(e);
	if (rc)
		reset(e);
	return rc;
}

void elf_close(struct elf_file *e)
{
	for (unsigned i = 0; i < e->npieces; i++)
		free(e->pieces[i].buf);
	if (e->fd >= 0)
		close(e->fd);
	reset(e);
}

/* Find a symbol in the symbol table section of the given type (SHT_SYMTAB
 * or SHT_DYNSYM).  ELF allows one of each, and only the first is read:
 * with every one of up to 65535 section headers naming the same big table,
 * a hostile file would cost 65535 passes over it. */
static int find_in_symtab(struct elf_file *e, uint32_t type, const char *name, uint64_t *value,
			  uint64_t *size)
{
	size_t namelen = strlen(name);
	for (unsigned i = 0;; i++) {
		Elf64_Shdr sh, strsh;
		if (!shdr_get(e, i, &sh))
			return ERR_NOTFOUND;
		if (sh.sh_type != type)
			continue;
		if (sh.sh_entsize < sizeof(Elf64_Sym) || !shdr_get(e, sh.sh_link, &strsh))
			return ERR_NOTFOUND;
		const unsigned char *syms = bytes(e, sh.sh_offset, sh.sh_size);
		const char *strs = (const char *)bytes(e, strsh.sh_offset, strsh.sh_size);
		if (!syms || !strs)
			return ERR_NOTFOUND;
		uint64_t n = sh.sh_size / sh.sh_entsize;
		for (uint64_t k = 0; k < n; k++) {
			Elf64_Sym sym;
			memcpy(&sym, syms + k * sh.sh_entsize, sizeof(sym));
			if (sym.st_name >= strsh.sh_size || sym.st_shndx == SHN_UNDEF)
				continue;
			/* compare within the table's bounds, including the NUL */
			if (strsh.sh_size - sym.st_name < namelen + 1)
				continue;
			if (memcmp(strs + sym.st_name, name, namelen + 1) != 0)
				continue;
			*value = sym.st_value;
			*size = sym.st_size;
			return 0;
		}
		return ERR_NOTFOUND;
	}
}

int elf_find_symbol(struct elf_file *e, const char *name, uint64_t *value, uint64_t *size)
{
	if (find_in_symtab(e, SHT_DYNSYM, name, value, size) == 0)
		return 0;
	return find_in_symtab(e, SHT_SYMTAB, name, value, size);
}

int elf_find_section(struct elf_file *e, const char *name, uint64_t *addr, uint64_t *size)
{
	Elf64_Shdr names;
	if (!shdr_get(e, e->eh.e_shstrndx, &names))
		return ERR_NOTFOUND;
	const unsigned char *strs = bytes(e, names.sh_offset, names.sh_size);
	if (!strs)
		return ERR_NOTFOUND;
	size_t namelen = strlen(name);
	for (unsigned i = 0;; i++) {
		Elf64_Shdr sh;
		if (!shdr_get(e, i, &sh))
			break;
		if (sh.sh_name >= names.sh_size || names.sh_size - sh.sh_name < namelen + 1)
			continue;
		if (memcmp(strs + sh.sh_name, name, namelen + 1) == 0) {
			*addr = sh.sh_addr;
			*size = sh.sh_size;
			return 0;
		}
	}
	return ERR_NOTFOUND;
}

int elf_read_vaddr(struct elf_file *e, uint64_t vaddr, void *buf, size_t len)
{
	for (unsigned i = 0;; i++) {
		Elf64_Phdr ph;
		if (!phdr_get(e, i, &ph))
			break;
		if (ph.p_type != PT_LOAD || vaddr < ph.p_vaddr)
			continue;
		uint64_t rel = vaddr - ph.p_vaddr;
		if (rel > ph.p_filesz || len > ph.p_filesz - rel)
			continue;
		/* p_offset + rel may wrap around to an offset inside the file */
		if (ph.p_offset > UINT64_MAX - rel || copy_out(e, ph.p_offset + rel, buf, len) != 0)
			return ERR_NOTFOUND;
		return 0;
	}
	return ERR_NOTFOUND;
}

const unsigned char *elf_scan_rodata(struct elf_file *e, unsigned char first_byte,
				     bool (*match)(const unsigned char *p, size_t avail, void *arg),
				     void *arg, size_t *avail)
{
	/* Read-only segments do not overlap in a real file, so they add up to
	 * at most its size; a hostile one repeating a segment 65535 times
	 * would cost that many passes over it.  Stop once a file's worth of
	 * bytes was scanned. */
	uint64_t budget = e->size;
	for (unsigned i = 0;; i++) {
		Elf64_Phdr ph;
		if (!phdr_get(e, i, &ph))
			break;
		if (ph.p_type != PT_LOAD || (ph.p_flags & PF_W) || ph.p_filesz == 0)
			continue;
		if (!in_file(e, ph.p_offset, ph.p_filesz))
			continue;
		if (ph.p_filesz > budget)
			break;
		budget -= ph.p_filesz;
		/* read with the byte before, which a matcher may look at; the
		 * file's first byte (the ELF magic) is no candidate */
		uint64_t before = ph.p_offset ? 1 : 0;
		const unsigned char *seg = bytes(e, ph.p_offset - before, ph.p_filesz + before);
		if (!seg)
			continue;
		const unsigned char *p = seg + 1, *end = seg + before + ph.p_filesz;
		while (p < end && (p = memchr(p, first_byte, (size_t)(end - p))) != NULL) {
			if (match(p, (size_t)(end - p), arg)) {
				*avail = (size_t)(end - p);
				return p;
			}
			p++;
		}
	}
	return NULL;
}
