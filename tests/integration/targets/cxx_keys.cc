// C++ allocations made through the standard containers from distinct user
// functions, so that a key in the user's code has something to find: every
// innermost frame is libstdc++'s (new_allocator.h), and the user's line is
// several template frames out.
//   parse(int)    one std::vector<double> of n elements, reserved: 8 * n B
//   names()       one std::string of 1000 chars (heap buffer of 1001 B)
//   index()       a std::map<int, long> of 100 nodes (48 B each on LP64)
// Everything stays live until the snapshot "peak", then is freed.
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "heaptrail.h"

std::vector<double> *parse(int n)
{
	auto *v = new std::vector<double>(); // @site:vector_object
	v->reserve((size_t)n); // @site:reserve
	for (int i = 0; i < n; i++)
		v->push_back(i * 0.5);
	return v;
}

std::string *names()
{
	return new std::string(1000, 'x'); // @site:string
}

std::map<int, long> *index_build()
{
	auto *m = new std::map<int, long>(); // @site:map_object
	for (int i = 0; i < 100; i++)
		(*m)[i] = i; // @site:map_insert
	return m;
}

int main()
{
	std::vector<double> *v = parse(10000); // @site:call_parse
	std::string *s = names(); // @site:call_names
	std::map<int, long> *m = index_build(); // @site:call_index
	heaptrail_snapshot("peak");
	std::printf("%zu %zu %zu\n", v->size(), s->size(), m->size());
	delete v;
	delete s;
	delete m;
	return 0;
}
