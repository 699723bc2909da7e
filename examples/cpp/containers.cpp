// Example: C++ containers on lmalloc.
//
// libc++'s operator new and operator delete call malloc and free, so once
// liblmalloc.a is linked every std::vector, std::string and std::map
// allocates from lmalloc. The program fills one of each, prints the heap
// statistics (lm_stats) after each step, and checks that everything is
// given back when they go out of scope. Exit status 1 if an allocation is
// left over or the heap check (lm_check) finds a problem.
//
// wasm32-wasi C++ needs -fno-exceptions: Debian's libc++abi for wasm32 is
// built without exception support (no __cxa_throw), so code that could
// throw does not link. See examples/README.md.
//
//   npm run example -- containers
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "lmalloc.h"

namespace {

lm_stats_t stats_now() {
  lm_stats_t s{};
  s.version = LM_STATS_VERSION;
  s.size = sizeof s;
  lm_stats(&s);
  return s;
}

// Prints the heap's state, and how many allocations the step `when` added
// (or gave back) since the previous call.
void print_stats(const char *when) {
  static lm_stats_t since = stats_now();
  lm_stats_t s = stats_now();
  std::printf("%-26s %4zu allocation(s) (%+5ld), %7zu bytes in use, heap "
              "%zu bytes, %zu slab(s)\n",
              when, s.used_blocks,
              static_cast<long>(s.used_blocks) -
                  static_cast<long>(since.used_blocks),
              s.used_bytes, s.heap_bytes, s.slabs);
  since = s;
}

// clang may delete a new/delete pair whose memory is not otherwise used;
// storing the pointer here keeps the allocation.
double *volatile sink;

} // namespace

int main() {
  std::printf("lmalloc %d.%d containers example (C++)\n", LM_VERSION_MAJOR,
              LM_VERSION_MINOR);
  const lm_stats_t start = stats_now();
  print_stats("at start:");
  {
    std::vector<int> numbers;
    for (int i = 0; i < 1000; i++)
      numbers.push_back(i * i);
    print_stats("vector of 1000 ints:");

    std::string small = "short";     // fits in the string itself (SSO)
    std::string large(200, 'x');     // 200 characters: one allocation
    large += std::string(2000, 'y'); // grows: allocates, frees the old one
    print_stats("+ 2 strings (1 on heap):");

    std::map<std::string, int> words;
    const char *text[] = {"the", "quick", "brown", "fox", "jumps", "over",
                          "the", "lazy",  "dog",   "and", "the",   "cat"};
    for (const char *w : text)
      words[w]++;
    print_stats("+ map of 10 words:");

    double *big = new double[100000]; // operator new[] -> malloc
    sink = big;
    print_stats("+ new double[100000]:");
    delete[] big;
    print_stats("- delete[]:");

    std::printf("  numbers[999] = %d, large.size() = %zu, small = \"%s\", "
                "\"the\" appears %d times\n",
                numbers[999], large.size(), small.c_str(), words["the"]);
  }
  const lm_stats_t end = stats_now();
  print_stats("after the scope ends:");
  size_t problems = lm_check();
  std::printf("heap check: %zu problem(s); %s\n", problems,
              end.used_blocks == start.used_blocks
                  ? "every allocation was given back"
                  : "allocations left over");
  return problems == 0 && end.used_blocks == start.used_blocks ? 0 : 1;
}
