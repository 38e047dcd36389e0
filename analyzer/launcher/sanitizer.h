/* sanitizer: tells whether a program is built with a sanitizer that brings
 * its own allocator (AddressSanitizer, ThreadSanitizer, MemorySanitizer,
 * HWAddressSanitizer).  Such a runtime must be the first library loaded
 * and defines malloc itself, so the recorder's hooks would never see an
 * allocation: `heaptrail record` refuses these programs (record.c).
 * Reads the executable's ELF file only; thread-safe. */
#ifndef HEAPTRAIL_SANITIZER_H
#define HEAPTRAIL_SANITIZER_H

/* The sanitizer's name ("AddressSanitizer"...) when the ELF executable at
 * path (a file name without '/' is looked up in PATH, as execvp does)
 * imports or defines that sanitizer's init function; NULL otherwise,
 * including when the file is not a readable 64-bit ELF (a script). */
const char *sanitizer_of(const char *path);

#endif /* HEAPTRAIL_SANITIZER_H */
