/* elf.h - just enough ELF64 reading to find CPython's runtime in a binary.
 *
 * A file is read, never mapped (its owner could truncate it under a
 * mapping, and any access past the new end would be a SIGBUS), and only the
 * parts a lookup needs: the headers, the symbol table and its strings, the
 * bytes asked for.  libpython is 5-30 MiB, of which a lookup needs well
 * under one: reading it whole cost every attach (and every child that
 * --subprocesses looks at, twice) tens of milliseconds of copying.
 * Everything is treated as untrusted: every header, table and string
 * offset is checked against the file's size, and a file that shrinks while
 * it is read reads as not found.
 */
#ifndef STROBE_PROCESS_ELF_H
#define STROBE_PROCESS_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <elf.h>

#define ELF_MAX_PIECES 16

/* A range of the file read into strobe's memory (file mode). */
struct elf_piece {
	uint64_t off, len;
	unsigned char *buf;
};

struct elf_file {
	const unsigned char *data; /* elf_parse: the caller's image; NULL when read from fd */
	int fd;                    /* elf_open*: strobe's own descriptor, else -1 */
	size_t size;               /* the file's size */
	uint16_t type;             /* ET_EXEC or ET_DYN */
	uint64_t load_vaddr;       /* first PT_LOAD p_vaddr, page aligned */
	uint64_t load_offset;      /* its p_offset, page aligned */
	Elf64_Ehdr eh;
	/* the header tables, read on first use: the entries that lie whole
	 * inside the file (NULL, 0 before) */
	const unsigned char *ph, *sh;
	unsigned phn, shn;
	bool ph_read, sh_read;
	struct elf_piece pieces[ELF_MAX_PIECES];
	unsigned npieces;
	uint64_t bytes_read;       /* read from the file so far (file mode) */
	bool limited;              /* a read was refused for the limits above (a
				      hostile file): an answer may be "not found"
				      where the same image in memory has one */
};

/* Open and validate path.  0, ERR_NOTFOUND (no such file), ERR_PERM,
 * ERR_INVAL (not a 64-bit little-endian ELF, larger than strobe reads, or
 * shorter than it said while read), ERR_IO. */
int elf_open(struct elf_file *e, const char *path);
/* The same for an open file: e keeps its own duplicate of fd, so the
 * caller may close fd at once. */
int elf_open_fd(struct elf_file *e, int fd);
/* Validate an ELF image already in memory (the caller keeps data alive
 * until elf_close, which then frees nothing): 0 or ERR_INVAL.  The fuzz
 * targets use it. */
int elf_parse(struct elf_file *e, const void *data, size_t size);
void elf_close(struct elf_file *e);

/* Look a symbol up in .dynsym, then .symtab (the first section of type
 * SHT_DYNSYM, then SHT_SYMTAB: ELF allows one of each).  0 with *value
 * (its virtual address) and *size, or ERR_NOTFOUND. */
int elf_find_symbol(struct elf_file *e, const char *name, uint64_t *value, uint64_t *size);

/* Find a section by name.  0 with its address and size, or ERR_NOTFOUND. */
int elf_find_section(struct elf_file *e, const char *name, uint64_t *addr, uint64_t *size);

/* Copy len bytes of initialised file data backing virtual address vaddr.
 * 0, or ERR_NOTFOUND if no PT_LOAD segment's file part covers them. */
int elf_read_vaddr(struct elf_file *e, uint64_t vaddr, void *buf, size_t len);

/* Search the read-only data (PT_LOAD segments without write permission)
 * for the first occurrence of a pattern; pattern matching is done by the
 * callback on each candidate position starting with first_byte, whose
 * preceding byte (the file's) is readable too: the file's first byte is
 * never a candidate.  Returns a pointer to the candidate (valid until
 * elf_close) and its segment's remaining length, or NULL.  At most the
 * file's size is scanned in all (segments past that are skipped), so a
 * hostile file repeating one segment cannot make it quadratic. */
const unsigned char *elf_scan_rodata(struct elf_file *e, unsigned char first_byte,
				     bool (*match)(const unsigned char *p, size_t avail, void *arg),
				     void *arg, size_t *avail);

#endif
