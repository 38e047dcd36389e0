/* cxxname: template argument lists collapse to "<>" (heaptrack -t), and
 * the operators, lambdas, function pointer types and anonymous namespaces
 * that contain '<', '>' or parentheses come through intact. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "render/cxxname.h"

typedef struct name_case {
	const char *full;
	const char *want;
} name_case_t;

static const char *shorten(const char *full)
{
	static char buf[1024];
	cxxname_short(full, buf, sizeof(buf));
	return buf;
}

/* Pointers in parameters do not survive Criterion's re-exec of the
 * test binary: the parameter is an index into this table. */
static const name_case_t shortens_like_heaptrack_cases[] = {
	/* nothing to do */
	{ "parse(int)", "parse(int)" },
	{ "main", "main" },
	{ "", "" },
	/* one level, and the example */
	{ "std::vector<int, std::allocator<int> >::push_back(int const&)",
	  "std::vector<>::push_back(int const&)" },
	/* nested templates, in the scope and in the parameters */
	{ "std::__new_allocator<std::_Rb_tree_node<std::pair<int const, long> > >::allocate(unsigned long, void const*)",
	  "std::__new_allocator<>::allocate(unsigned long, void const*)" },
	{ "std::allocator_traits<std::allocator<double> >::allocate(std::allocator<double>&, unsigned long)",
	  "std::allocator_traits<>::allocate(std::allocator<>&, unsigned long)" },
	/* a return type and a function template's own arguments */
	{ "std::_Rb_tree_node<std::pair<int const, long> >* std::_Rb_tree<int, std::pair<int const, long> >::_M_create_node<std::tuple<int const&> >(std::tuple<int const&>&&)",
	  "std::_Rb_tree_node<>* std::_Rb_tree<>::_M_create_node<>(std::tuple<>&&)" },
	/* operators that are spelled with angle brackets */
	{ "operator<(Key const&, Key const&)", "operator<(Key const&, Key const&)" },
	{ "bool operator< <int>(Foo<int> const&, Foo<int> const&)",
	  "bool operator< <>(Foo<> const&, Foo<> const&)" },
	{ "std::ostream& operator<<(std::ostream&, Foo<char> const&)",
	  "std::ostream& operator<<(std::ostream&, Foo<> const&)" },
	{ "Bits<8>::operator<<=(int)", "Bits<>::operator<<=(int)" },
	{ "Bits<8>::operator>>(int) const", "Bits<>::operator>>(int) const" },
	{ "X::operator<=>(X const&) const", "X::operator<=>(X const&) const" },
	{ "Ptr<Node>::operator->() const", "Ptr<>::operator->() const" },
	{ "std::less<int>::operator()(int const&, int const&) const",
	  "std::less<>::operator()(int const&, int const&) const" },
	/* "operator" inside another word is no operator */
	{ "my_operator<int>(int)", "my_operator<>(int)" },
	/* lambdas */
	{ "main::{lambda(int)#1}::operator()(int) const",
	  "main::{lambda(int)#1}::operator()(int) const" },
	{ "void std::__invoke_impl<void, main::{lambda()#1}>(std::__invoke_other, main::{lambda()#1}&&)",
	  "void std::__invoke_impl<>(std::__invoke_other, main::{lambda()#1}&&)" },
	/* function pointer and function types */
	{ "void call<void (*)(int)>(void (*)(int))", "void call<>(void (*)(int))" },
	{ "std::function<void (int)>::operator()(int) const",
	  "std::function<>::operator()(int) const" },
	/* an expression argument with a comparison in parentheses */
	{ "Fixed<(3>2)>::get()", "Fixed<>::get()" },
	/* a trailing return type */
	{ "auto f<int>(int) -> decltype(x)", "auto f<>(int) -> decltype(x)" },
	/* anonymous namespaces */
	{ "(anonymous namespace)::Cache<std::map<int, int> >::get(int)",
	  "(anonymous namespace)::Cache<>::get(int)" },
	{ "(anonymous namespace)::helper(int)", "(anonymous namespace)::helper(int)" },
	/* a name cut inside a template list still closes */
	{ "Foo<int, Bar<", "Foo<>" },
};

ParameterizedTestParameters(cxxname, shortens_like_heaptrack)
{
	static int idx[sizeof(shortens_like_heaptrack_cases) / sizeof(shortens_like_heaptrack_cases[0])];
	for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++)
		idx[i] = (int)i;
	return cr_make_param_array(int, idx, sizeof(idx) / sizeof(idx[0]));
}

ParameterizedTest(int *i, cxxname, shortens_like_heaptrack)
{
	const name_case_t *c = &shortens_like_heaptrack_cases[*i];
	const char *got = shorten(c->full);

	cr_assert_str_eq(got, c->want, "%s", c->full);
}

Test(cxxname, returns_the_length_and_truncates_like_snprintf)
{
	char small[8];
	const char *full = "std::vector<int>::size() const";

	size_t n = cxxname_short(full, small, sizeof(small));

	cr_assert_eq(n, strlen("std::vector<>::size() const"));
	cr_assert_str_eq(small, "std::ve");
}
