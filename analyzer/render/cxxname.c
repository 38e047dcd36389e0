/* Short C++ names: see cxxname.h.  One pass over the name with a template
 * depth; nothing is allocated. */
#include "render/cxxname.h"

#include <string.h>

/* Length of the operator token at s (just after "operator"), when that
 * token contains '<' or '>' and so must not be read as a bracket: <, <<,
 * <=, <<=, <=>, >, >>, >=, >>=, ->, ->*.  0 for any other operator. */
static size_t angle_operator(const char *s)
{
	static const char *const ops[] = { "<=>", "<<=", ">>=", "->*", "<<",
					   "<=",  ">>",  ">=",  "->",  "<",
					   ">" };
	while (*s == ' ')
		s++;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		size_t n = strlen(ops[i]);
		if (strncmp(s, ops[i], n) == 0)
			return n;
	}
	return 0;
}

/* "operator" at in[i] as a whole word (not "my_operator"). */
static int at_operator(const char *in, size_t i)
{
	if (strncmp(in + i, "operator", 8) != 0)
		return 0;
	if (i > 0) {
		char c = in[i - 1];
		if (c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			return 0;
	}
	return 1;
}

size_t cxxname_short(const char *in, char *out, size_t len)
{
	size_t w = 0, i = 0;
	int depth = 0, paren = 0; /* paren: '(' depth inside a template list */
#define PUT(c)                             \
	do {                               \
		if (w + 1 < len)           \
			out[w] = (c);      \
		w++;                       \
	} while (0)
	while (in[i]) {
		char c = in[i];
		if (at_operator(in, i)) {
			/* Copy "operator" and an angle operator verbatim (or
			 * skip them inside a collapsed list). */
			size_t n = 8, sp = 0;
			while (in[i + n + sp] == ' ')
				sp++;
			size_t op = angle_operator(in + i + n);
			n += op ? sp + op : 0;
			for (size_t k = 0; k < n; k++)
				if (!depth)
					PUT(in[i + k]);
			i += n;
			continue;
		}
		if (depth && c == '(') {
			paren++;
		} else if (depth && c == ')' && paren) {
			paren--;
		} else if (c == '-' && in[i + 1] == '>') {
			/* A trailing return type or a pointer-to-member
			 * arrow, not a closing bracket. */
			if (!depth) {
				PUT('-');
				PUT('>');
			}
			i += 2;
			continue;
		} else if (c == '<' && !paren) {
			if (depth++ == 0)
				PUT('<');
			i++;
			continue;
		} else if (c == '>' && !paren && depth) {
			if (--depth == 0)
				PUT('>');
			i++;
			continue;
		}
		if (!depth)
			PUT(c);
		i++;
	}
	/* Unbalanced (a cut name): close what was opened. */
	if (depth)
		PUT('>');
	if (len)
		out[w < len ? w : len - 1] = '\0';
	return w;
#undef PUT
}
