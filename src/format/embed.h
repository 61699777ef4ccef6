/* embed.h - files embedded into the binary at build time with the
 * assembler's .incbin, so that strobe writes self-contained pages without
 * reading files of its own.
 *
 *   __asm__(OUT_EMBED(sym, "src/format/dir/file.html") ...);
 *   extern const char sym[];
 *
 * The path is relative to the repository root, where make runs the
 * compiler; the Makefile makes the embedding object depend on the files.
 * Each file is followed by a NUL, so sym is a C string. */
#ifndef STROBE_FORMAT_EMBED_H
#define STROBE_FORMAT_EMBED_H

#define OUT_EMBED(sym, file)                                 \
	".section .rodata." #sym ",\"a\",@progbits\n"        \
	".global " #sym "\n"                                  \
	".hidden " #sym "\n"                                  \
	".type " #sym ", @object\n"                           \
	".balign 16\n"                                        \
	#sym ":\n"                                            \
	".incbin \"" file "\"\n"                              \
	".byte 0\n"                                           \
	".size " #sym ", . - " #sym "\n"                      \
	".previous\n"

#endif
