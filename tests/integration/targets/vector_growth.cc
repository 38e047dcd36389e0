// A std::vector<int> grown by push_back to 1M (2^20) elements: libstdc++
// allocates a buffer twice the size, copies, frees the old one, twenty
// times (4 B -> 4 MiB), with no realloc.  Prints the size.
#include <cstdio>
#include <vector>

static std::vector<int> fill(int n)
{
	std::vector<int> v;
	for (int i = 0; i < n; i++)
		v.push_back(i); // @site:push_back
	return v;
}

int main()
{
	std::vector<int> v = fill(1 << 20);
	std::printf("%zu\n", v.size());
	return 0;
}
