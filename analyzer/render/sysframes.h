/* System frames: the frames that are not the user's code (the C and C++
 * runtimes, the dynamic loader, libgcc, the Python interpreter, heaptrail
 * itself, the standard library's templates expanded into the program),
 * for the `--by site` key and strict `--frames python`.  Built-in rules
 * plus fnmatch patterns from HEAPTRAIL_SYSTEM_FRAMES and --system.  Used
 * by frames.c and group.c; not thread-safe (the process-wide set is filled
 * while parsing the command line). */
#ifndef HEAPTRAIL_SYSFRAMES_H
#define HEAPTRAIL_SYSFRAMES_H

#include <stdbool.h>

#include "render/symbols.h"

#include "common/env.h"

/* Environment variable with extra patterns, separated by commas. */
#define SYSFRAMES_ENV HT_ENV_SYSTEM_FRAMES

typedef struct sysframes sysframes_t;

/* A set with the built-in rules (builtins) or none; NULL on ENOMEM. */
sysframes_t *sysframes_new(bool builtins);
void sysframes_free(sysframes_t *s);

/* The process-wide set: built-in rules, then the patterns of
 * HEAPTRAIL_SYSTEM_FRAMES (read on the first call), then those added by
 * --system.  Never NULL (a static set when memory runs out). */
sysframes_t *sysframes_default(void);

/* Adds a pattern (copied).  A frame matches it when the fnmatch glob
 * (without FNM_PATHNAME: '*' crosses '/') matches its module path or
 * module basename, its source file as recorded or that file's basename,
 * or its function name (demangled, with the parameter list).  Returns 0,
 * -EINVAL for an empty pattern or -ENOMEM. */
int sysframes_add(sysframes_t *s, const char *pattern);
/* Adds every non-empty comma-separated pattern of list.  Returns 0 or
 * -ENOMEM. */
int sysframes_add_list(sysframes_t *s, const char *list);

/* Whether fr is a system frame.  Built-in rules:
 *  - module basename: libc, ld.so, libpthread/libdl/librt/libm,
 *    libstdc++, libc++, libc++abi, libgcc_s, libpython*, a python
 *    executable (python, python3, python3.11: a static interpreter),
 *    libheaptrail;
 *  - source file: under /usr/include/ or a C++ standard library include
 *    directory (.../include/c++/..., .../c++/v1/...): templates and
 *    inline functions expanded into the user's module;
 *  - function, when the source file is unknown (no debug info): std::,
 *    __gnu_cxx::, __cxxabiv1::, __cxa_*, operator new / operator delete,
 *    and the C runtime's start code linked into the program (_start,
 *    _init, _fini, __libc_csu_*).
 * Python frames (no module) are only matched by the added patterns.
 * exe: the executable's path, for the module "" of the main program. */
bool sysframes_is_system(const sysframes_t *s, const sym_frame_t *fr,
			 const char *exe);

#endif /* HEAPTRAIL_SYSFRAMES_H */
