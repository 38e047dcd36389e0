/* Short C++ names for text reports, as heaptrack_print -t prints them:
 * every template argument list collapsed to "<>", the rest (scopes,
 * parameter list, qualifiers) kept:
 *   std::vector<int, std::allocator<int> >::push_back(int const&)
 *   -> std::vector<>::push_back(int const&)
 * Called by frames.c for text reports.  Pure function, thread-safe. */
#ifndef HEAPTRAIL_CXXNAME_H
#define HEAPTRAIL_CXXNAME_H

#include <stddef.h>

/* Writes the short form of the demangled name `in` to out (at most len
 * bytes, NUL-terminated; len > 0) and returns its length, or the length it
 * would have had when it does not fit (as snprintf).  The comparison and
 * shift operators (operator<, operator<<=, operator<=>, operator->, ...)
 * are names, not brackets; '<' and '>' inside parentheses within a
 * template argument list are expressions.  A name without templates is
 * copied unchanged. */
size_t cxxname_short(const char *in, char *out, size_t len);

#endif /* HEAPTRAIL_CXXNAME_H */
