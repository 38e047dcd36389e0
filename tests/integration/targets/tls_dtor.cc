// Allocation inside thread-exit destructors: a C++ thread_local object's
// destructor and a pthread key destructor, both run as a thread exits (the
// recorder's own per-thread state may be going away at the same time).
// Each of 4 threads leaks 1 x 555 bytes from ~Tls() and 1 x 666 bytes from
// the key destructor.
#include <cstdio>
#include <cstdlib>
#include <pthread.h>

static void *volatile sink;
static pthread_key_t key;

struct Tls {
	int used = 0;
	~Tls()
	{
		sink = std::malloc(555); // @site:tls_dtor
	}
};

static thread_local Tls tls;

static void key_dtor(void *value)
{
	std::free(value);
	sink = std::malloc(666); // @site:key_dtor
}

static void *worker(void *)
{
	tls.used = 1;
	pthread_setspecific(key, std::malloc(10)); // @site:key_value
	return nullptr;
}

int main()
{
	pthread_key_create(&key, key_dtor);
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], nullptr, worker, nullptr);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], nullptr);
	std::printf("4 threads done\n");
	return 0;
}
