/* Offline symbolization with elfutils libdw: module maps per generation,
 * build-id checks, function/file/line with inlined calls expanded, C++
 * demangling, a per-address cache.  Called by frames.c; not thread-safe
 * (one sym_t per thread). */
#ifndef HEAPTRAIL_SYMBOLS_H
#define HEAPTRAIL_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

typedef struct sym sym_t;

/* One symbolized frame.  All strings are owned by the sym_t and stay valid
 * until sym_free(). */
typedef struct sym_frame {
	const char *function; /* NULL = unknown; C++ names demangled */
	const char *file; /* NULL = unknown */
	uint32_t line; /* 0 = unknown */
	const char *module; /* module path; NULL = address in no module */
	uint64_t address; /* the ip as recorded (ip_minus_one + 1) */
	/* Additive fields (not in the first draft of the API): */
	uint64_t offset; /* ip_minus_one - module load bias: the ELF address
			  * that `addr2line -e module` takes */
	int inlined; /* 1: this frame is inlined into the next (outer) one */
	/* Set by frames.c, never by the symbolizer: 0 = a frame, else a
	 * SYM_MARK_* note that reports print in place of a frame. */
	int marker;
} sym_frame_t;

/* sym_frame_t.marker values. */
enum sym_mark {
	SYM_MARK_NONE = 0,
	/* --frames python, a stack without Python frames: this is its
	 * user-code frame, printed "<native: function (module)>". */
	SYM_MARK_NATIVE_ONLY = 1,
	/* Not a frame: the stack goes on but was cut at --depth (line holds
	 * the depth). */
	SYM_MARK_CUT_DEPTH = 2,
	/* Not a frame: the recorder cut the native stack (HT_STACK_TRUNCATED). */
	SYM_MARK_CUT_RECORDER = 3,
	/* The one frame of the STACKS_ID_STARTUP stack: everything a Python
	 * program allocated before its main module started; function is
	 * "<interpreter startup>". */
	SYM_MARK_STARTUP = 4,
};

sym_t *sym_new(void);
void sym_free(sym_t *sym);

/* With enabled == 0 (--no-symbols), sym_resolve opens no file and returns
 * one module+offset frame per address.  Set it before the first resolve. */
void sym_set_enabled(sym_t *sym, int enabled);

/* Path of the traced executable (the PROCESS record's).  Modules added with
 * path "" afterwards (dl_iterate_phdr's name for the main program) use it.
 * Call it at each PROCESS record, before that image's MODULES. */
void sym_set_exe_path(sym_t *sym, const char *path);

/* A MODULES record starts: the following sym_module_add() calls build the
 * map of `generation`.  A generation seen before (a new image restarts the
 * numbering) is replaced. */
void sym_modules_begin(sym_t *sym, uint64_t generation);

/* One module of the current map.  segs are the PT_LOAD segments as
 * recorded: {p_vaddr, p_memsz, p_flags}.  Nothing is opened here: a module
 * is opened on the first address resolved in it. */
void sym_module_add(sym_t *sym, const char *path, uint64_t bias,
		    const uint8_t *build_id, size_t build_id_len,
		    const uint64_t (*segs)[3], size_t nsegs);

/* Symbolizes the return address ip (pass ip - 1) under the module map of
 * `generation` (or the newest older one).  Sets *frames to n >= 1 frames,
 * innermost first, inlined calls expanded; returns n, or -ENOMEM (then
 * *frames is NULL).  Each distinct address is symbolized once; the array
 * stays valid until sym_free(). */
int sym_resolve(sym_t *sym, uint64_t generation, uint64_t ip_minus_one,
		const sym_frame_t **frames);

/* Warnings gathered so far (each said once), without a prefix: print each
 * as "heaptrail: warning: %s\n".  Example: "/usr/lib/libfoo.so changed
 * since recording (build-id differs); showing module+offset". */
size_t sym_warnings(const sym_t *sym, const char *const **list);

/* Formats a frame for text reports:
 *   "function at file:line (module)", "function (module)" or
 *   "module+0xoffset" / "0xaddress" when nothing better is known.
 * module is shown as its basename.  Returns snprintf's result. */
int sym_frame_format(const sym_frame_t *f, char *buf, size_t size);

/* The basename of a module path ("" for NULL). */
const char *sym_basename(const char *path);

#endif /* HEAPTRAIL_SYMBOLS_H */
