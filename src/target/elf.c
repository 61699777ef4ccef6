#include "target/elf.h"

#include "base/error.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Larger files than this are not a CPython binary we can use (libpython
 * is 5-30 MiB; a build with all its debug information a few times that).
 * The whole file is read into memory once, at attach. */
#define ELF_MAX_SIZE (512ULL << 20)

static bool in_file(const struct elf_file *e, uint64_t off, uint64_t len)
{
	return off <= e->size && len <= e->size - off;
}

static const Elf64_Ehdr *ehdr(const struct elf_file *e)
{
	return (const Elf64_Ehdr *)(const void *)e->data;
}

static bool phdr_get(const struct elf_file *e, unsigned i, Elf64_Phdr *out)
{
	const Elf64_Ehdr *h = ehdr(e);
	uint64_t off = h->e_phoff + (uint64_t)i * h->e_phentsize;
	if (i >= h->e_phnum || h->e_phentsize < sizeof(Elf64_Phdr) || !in_file(e, off, sizeof(*out)))
		return false;
	memcpy(out, e->data + off, sizeof(*out));
	return true;
}

static bool shdr_get(const struct elf_file *e, unsigned i, Elf64_Shdr *out)
{
	const Elf64_Ehdr *h = ehdr(e);
	uint64_t off = h->e_shoff + (uint64_t)i * h->e_shentsize;
	if (i >= h->e_shnum || h->e_shentsize < sizeof(Elf64_Shdr) || !in_file(e, off, sizeof(*out)))
		return false;
	memcpy(out, e->data + off, sizeof(*out));
	return true;
}

int elf_open(struct elf_file *e, const char *path)
{
	memset(e, 0, sizeof(*e));
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
	memset(e, 0, sizeof(*e));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < sizeof(Elf64_Ehdr) ||
	    (uint64_t)st.st_size > ELF_MAX_SIZE)
		return ERR_INVAL;
	/* read, not mapped: the file may be the target's own, and a target
	 * that truncates it while strobe parses it would make any access to a
	 * mapping past the new end a SIGBUS */
	size_t size = (size_t)st.st_size, got = 0;
	unsigned char *p = malloc(size);
	if (!p)
		return ERR_IO;
	while (got < size) {
		ssize_t n = pread(fd, p + got, size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(p);
			return n == 0 ? ERR_INVAL : ERR_IO; /* shorter than it said: changed */
		}
		got += (size_t)n;
	}
	int rc = elf_parse(e, p, size);
	if (rc) {
		free(p);
		return rc;
	}
	e->mapped = true;
	return 0;
}

int elf_parse(struct elf_file *e, const void *data, size_t size)
{
	memset(e, 0, sizeof(*e));
	if (size < sizeof(Elf64_Ehdr) || (uint64_t)size > ELF_MAX_SIZE)
		return ERR_INVAL;
	e->data = data;
	e->size = size;
	const Elf64_Ehdr *h = ehdr(e);
	if (memcmp(h->e_ident, ELFMAG, SELFMAG) != 0 || h->e_ident[EI_CLASS] != ELFCLASS64 ||
	    h->e_ident[EI_DATA] != ELFDATA2LSB || (h->e_type != ET_EXEC && h->e_type != ET_DYN)) {
		memset(e, 0, sizeof(*e));
		return ERR_INVAL;
	}
	e->type = h->e_type;
	for (unsigned i = 0; i < h->e_phnum; i++) {
		Elf64_Phdr ph;
		if (!phdr_get(e, i, &ph))
			break;
		if (ph.p_type == PT_LOAD) {
			/* mappings start on (4 KiB) page boundaries whatever
			 * the segment alignment is */
			e->load_vaddr = ph.p_vaddr & ~0xfffULL;
			e->load_offset = ph.p_offset & ~0xfffULL;
			return 0;
		}
	}
	memset(e, 0, sizeof(*e));
	return ERR_INVAL;
}

void elf_close(struct elf_file *e)
{
	if (e->data && e->mapped)
		free((void *)e->data);
	memset(e, 0, sizeof(*e));
}

/* Find a symbol in the symbol table section of the given type (SHT_SYMTAB
 * or SHT_DYNSYM).  ELF allows one of each, and only the first is read:
 * with every one of up to 65535 section headers naming the same big table,
 * a hostile file would cost 65535 passes over it. */
static int find_in_symtab(const struct elf_file *e, uint32_t type, const char *name,
			  uint64_t *value, uint64_t *size)
{
	const Elf64_Ehdr *h = ehdr(e);
	size_t namelen = strlen(name);
	for (unsigned i = 0; i < h->e_shnum; i++) {
		Elf64_Shdr sh, strsh;
		if (!shdr_get(e, i, &sh))
			return ERR_NOTFOUND;
		if (sh.sh_type != type)
			continue;
		if (sh.sh_entsize < sizeof(Elf64_Sym) || !in_file(e, sh.sh_offset, sh.sh_size) ||
		    !shdr_get(e, sh.sh_link, &strsh) || !in_file(e, strsh.sh_offset, strsh.sh_size))
			return ERR_NOTFOUND;
		const char *strs = (const char *)e->data + strsh.sh_offset;
		uint64_t n = sh.sh_size / sh.sh_entsize;
		for (uint64_t k = 0; k < n; k++) {
			Elf64_Sym sym;
			memcpy(&sym, e->data + sh.sh_offset + k * sh.sh_entsize, sizeof(sym));
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
	return ERR_NOTFOUND;
}

int elf_find_symbol(const struct elf_file *e, const char *name, uint64_t *value, uint64_t *size)
{
	if (find_in_symtab(e, SHT_DYNSYM, name, value, size) == 0)
		return 0;
	return find_in_symtab(e, SHT_SYMTAB, name, value, size);
}

int elf_find_section(const struct elf_file *e, const char *name, uint64_t *addr, uint64_t *size)
{
	const Elf64_Ehdr *h = ehdr(e);
	Elf64_Shdr names;
	if (!shdr_get(e, h->e_shstrndx, &names) || !in_file(e, names.sh_offset, names.sh_size))
		return ERR_NOTFOUND;
	size_t namelen = strlen(name);
	for (unsigned i = 0; i < h->e_shnum; i++) {
		Elf64_Shdr sh;
		if (!shdr_get(e, i, &sh))
			break;
		if (sh.sh_name >= names.sh_size || names.sh_size - sh.sh_name < namelen + 1)
			continue;
		if (memcmp(e->data + names.sh_offset + sh.sh_name, name, namelen + 1) == 0) {
			*addr = sh.sh_addr;
			*size = sh.sh_size;
			return 0;
		}
	}
	return ERR_NOTFOUND;
}

int elf_read_vaddr(const struct elf_file *e, uint64_t vaddr, void *buf, size_t len)
{
	const Elf64_Ehdr *h = ehdr(e);
	for (unsigned i = 0; i < h->e_phnum; i++) {
		Elf64_Phdr ph;
		if (!phdr_get(e, i, &ph))
			break;
		if (ph.p_type != PT_LOAD || vaddr < ph.p_vaddr)
			continue;
		uint64_t rel = vaddr - ph.p_vaddr;
		if (rel > ph.p_filesz || len > ph.p_filesz - rel)
			continue;
		/* p_offset + rel may wrap around to an offset inside the file */
		if (ph.p_offset > UINT64_MAX - rel || !in_file(e, ph.p_offset + rel, len))
			return ERR_NOTFOUND;
		memcpy(buf, e->data + (ph.p_offset + rel), len);
		return 0;
	}
	return ERR_NOTFOUND;
}

const unsigned char *elf_scan_rodata(const struct elf_file *e, unsigned char first_byte,
				     bool (*match)(const unsigned char *p, size_t avail, void *arg),
				     void *arg, size_t *avail)
{
	const Elf64_Ehdr *h = ehdr(e);
	/* Read-only segments do not overlap in a real file, so they add up to
	 * at most its size; a hostile one repeating a segment 65535 times
	 * would cost that many passes over it.  Stop once a file's worth of
	 * bytes was scanned. */
	uint64_t budget = e->size;
	for (unsigned i = 0; i < h->e_phnum; i++) {
		Elf64_Phdr ph;
		if (!phdr_get(e, i, &ph))
			break;
		if (ph.p_type != PT_LOAD || (ph.p_flags & PF_W))
			continue;
		if (!in_file(e, ph.p_offset, ph.p_filesz))
			continue;
		if (ph.p_filesz > budget)
			break;
		budget -= ph.p_filesz;
		const unsigned char *p = e->data + ph.p_offset, *end = p + ph.p_filesz;
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
