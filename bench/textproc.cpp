// Benchmark workload: a small text-processing program in ordinary C++, the
// way people write it: std::string, std::vector, std::map, streams.
// It makes log-like lines of pseudo-words, tokenizes each one, counts words
// in a std::map, keeps a sliding window of recent lines, renders each
// record as a JSON object (escaping included), and at the end sorts the
// vocabulary by count and prints the top entries and a checksum.
// Deterministic: the same argument gives the same allocations and output.
//
//   textproc [LINES]        (default 300000)
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Rng {
	uint64_t s = 0x9E3779B97F4A7C15ULL;
	uint64_t next()
	{
		s ^= s >> 12;
		s ^= s << 25;
		s ^= s >> 27;
		return s * 0x2545F4914F6CDD1DULL;
	}
};

const char *const syllables[] = { "ka", "lo", "mi", "ren", "to", "su", "vex", "an",
				  "dor", "pi", "qua", "el", "zo", "ni", "b\"a", "tr\\y" };

std::string make_word(Rng &r)
{
	std::string w;
	int n = 1 + (int)(r.next() % 4);
	for (int i = 0; i < n; i++)
		w += syllables[r.next() % 16];
	return w;
}

std::string make_line(Rng &r, long i)
{
	std::ostringstream os;
	os << "t=" << i << " level=" << ((r.next() % 8) ? "info" : "warn") << ' ';
	int words = 3 + (int)(r.next() % 18);
	for (int k = 0; k < words; k++)
		os << make_word(r) << (k + 1 < words ? " " : "");
	return os.str();
}

std::vector<std::string> tokenize(const std::string &line)
{
	std::vector<std::string> out;
	std::string cur;
	for (char c : line) {
		if (c == ' ') {
			if (!cur.empty())
				out.push_back(cur);
			cur.clear();
		} else {
			cur.push_back(c);
		}
	}
	if (!cur.empty())
		out.push_back(cur);
	return out;
}

std::string json_escape(const std::string &s)
{
	std::string out;
	out.reserve(s.size() + 2);
	for (char c : s) {
		if (c == '"' || c == '\\')
			out += '\\';
		out += c;
	}
	return out;
}

std::string to_json(long i, const std::vector<std::string> &tokens)
{
	std::string j = "{\"line\":" + std::to_string(i) + ",\"words\":[";
	for (size_t k = 0; k < tokens.size(); k++) {
		if (k)
			j += ',';
		j += '"' + json_escape(tokens[k]) + '"';
	}
	j += "]}";
	return j;
}

} // namespace

int main(int argc, char **argv)
{
	long lines = argc > 1 ? std::atol(argv[1]) : 300000;
	if (lines <= 0) {
		std::fprintf(stderr, "usage: %s [LINES>0]\n", argv[0]);
		return 2;
	}
	Rng r;
	std::map<std::string, long> counts;
	std::deque<std::string> window; // the last 2000 lines, as a log tail keeps them
	uint64_t check = 0;
	for (long i = 0; i < lines; i++) {
		std::string line = make_line(r, i);
		std::vector<std::string> tokens = tokenize(line);
		for (size_t k = 2; k < tokens.size(); k++)
			++counts[tokens[k]];
		std::string j = to_json(i, tokens);
		check = check * 31 + j.size();
		window.push_back(std::move(line));
		if (window.size() > 2000)
			window.pop_front();
	}
	std::vector<std::pair<std::string, long>> vocab(counts.begin(), counts.end());
	std::sort(vocab.begin(), vocab.end(), [](const auto &a, const auto &b) {
		return a.second != b.second ? a.second > b.second : a.first < b.first;
	});
	for (size_t k = 0; k < 3 && k < vocab.size(); k++)
		std::printf("%s %ld\n", vocab[k].first.c_str(), vocab[k].second);
	std::printf("lines=%ld words=%zu check=%llu\n", lines, vocab.size(), (unsigned long long)check);
	return 0;
}
