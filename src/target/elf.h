/* elf.h - just enough ELF64 reading to find CPython's runtime in a binary.
 *
 * The file is read into memory (never mapped: its owner could truncate it
 * under a mapping) and treated as untrusted: every header, table and string
 * offset is checked against the file size.
 */
#ifndef STROBE_TARGET_ELF_H
#define STROBE_TARGET_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elf_file {
	const unsigned char *data; /* the whole file */
	size_t size;
	uint16_t type;             /* ET_EXEC or ET_DYN */
	uint64_t load_vaddr;       /* first PT_LOAD p_vaddr, page aligned */
	uint64_t load_offset;      /* its p_offset, page aligned */
	bool mapped;               /* data is strobe's own copy (elf_close frees it) */
};

/* Read and validate path.  0, ERR_NOTFOUND (no such file), ERR_PERM,
 * ERR_INVAL (not a 64-bit little-endian ELF, larger than strobe reads, or
 * shorter than it said while read), ERR_IO. */
int elf_open(struct elf_file *e, const char *path);
/* The same for an open file (the caller keeps fd; the copy outlives it). */
int elf_open_fd(struct elf_file *e, int fd);
/* Validate an ELF image already in memory (the caller keeps data alive
 * until elf_close, which then frees nothing): 0 or ERR_INVAL.  The fuzz
 * targets use it. */
int elf_parse(struct elf_file *e, const void *data, size_t size);
void elf_close(struct elf_file *e);

/* Look a symbol up in .dynsym, then .symtab (the first section of type
 * SHT_DYNSYM, then SHT_SYMTAB: ELF allows one of each).  0 with *value
 * (its virtual address) and *size, or ERR_NOTFOUND. */
int elf_find_symbol(const struct elf_file *e, const char *name, uint64_t *value, uint64_t *size);

/* Find a section by name.  0 with its address and size, or ERR_NOTFOUND. */
int elf_find_section(const struct elf_file *e, const char *name, uint64_t *addr, uint64_t *size);

/* Copy len bytes of initialised file data backing virtual address vaddr.
 * 0, or ERR_NOTFOUND if no PT_LOAD segment's file part covers them. */
int elf_read_vaddr(const struct elf_file *e, uint64_t vaddr, void *buf, size_t len);

/* Search the read-only data (PT_LOAD segments without write permission)
 * for the first occurrence of a pattern; pattern matching is done by the
 * callback on each candidate position starting with first_byte.  Returns a
 * pointer into the file's data and its remaining length, or NULL.  At most
 * the file's size is scanned in all (segments past that are skipped), so a
 * hostile file repeating one segment cannot make it quadratic. */
const unsigned char *elf_scan_rodata(const struct elf_file *e, unsigned char first_byte,
				     bool (*match)(const unsigned char *p, size_t avail, void *arg),
				     void *arg, size_t *avail);

#endif
