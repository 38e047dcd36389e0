// C++ allocation paths: new/delete, new[]/delete[], and thrown exception
// objects (allocated by the C++ runtime through malloc).
//   make_objects()  new Widget x 3 kept (leaked), 2 deleted
//   make_arrays()   new int[250] x 2 kept, 1 delete[]'d
//   throw_one()     throws Oops; in the catch block snapshot "in_catch" is
//                   marked while the exception object is live
#include <cstdio>
#include <cstring>

#include "heaptrail.h"

struct Widget {
	char payload[72];
};

struct Oops {
	char what[40];
};

static Widget *kept_w[3];
static int *kept_a[2];

static void make_objects()
{
	for (int i = 0; i < 5; i++) {
		Widget *w = new Widget(); // @site:new_widget
		if (i < 3)
			kept_w[i] = w;
		else
			delete w;
	}
}

static void make_arrays()
{
	for (int i = 0; i < 3; i++) {
		int *a = new int[250]; // @site:new_array
		if (i < 2)
			kept_a[i] = a;
		else
			delete[] a;
	}
}

static void throw_one()
{
	Oops o;
	std::strcpy(o.what, "boom");
	throw o; // @site:throw
}

int main()
{
	make_objects();
	make_arrays();
	int snap = -2;
	try {
		throw_one();
	} catch (const Oops &e) {
		snap = heaptrail_snapshot("in_catch");
		std::printf("caught %s\n", e.what);
	}
	std::printf("snapshot=%d kept=%d\n", snap, kept_w[0] != nullptr && kept_a[0] != nullptr);
	return 0;
}
