// proof_cpp: a C++ program whose allocations must all land in lmalloc.
//
// Built twice like proof_c.c (see there): proof_cpp_lmalloc.wasm with
// liblmalloc.a (LM_PROOF_LMALLOC=1), proof_cpp_libc.wasm without; the test
// dlmalloc_gone_cpp reads both name sections. libc++abi's operator new and
// delete call malloc and free, so linking liblmalloc.a must route every
// new/delete and every container allocation into lmalloc and leave
// dlmalloc out of the module.
//
// This program allocates through operator new and new[] (plain, nothrow,
// over-aligned), std::vector, std::string and std::map, and with lmalloc
// checks with lm_walk that each allocation it can see is an lmalloc block,
// and with lm_stats that the count of allocations follows the containers
// and returns to where it started.
#include "testlib.h"

#ifndef LM_PROOF_LMALLOC
#error "build with -DLM_PROOF_LMALLOC=1 (lmalloc linked) or 0 (libc only)"
#endif

#include <map>
#include <new>
#include <string>
#include <vector>

namespace {

void expect_lmalloc_block(const void *p, const char *what) {
#if LM_PROOF_LMALLOC
  tl_found_t f = tl_find(p);
  CHECK(f.found && f.info.used, "%s: %p is a used lmalloc allocation", what, p);
#else
  (void)p;
  (void)what;
#endif
}

size_t used_allocations() {
#if LM_PROOF_LMALLOC
  return tl_stats().used_blocks;
#else
  return 0;
#endif
}

struct alignas(64) cache_line {
  unsigned char bytes[64];
};

// new/delete pairs whose memory is unused may be elided (C++14): keep them.
void *volatile sink;
template <typename T> T *keep(T *p) {
  sink = p;
  return p;
}

} // namespace

int main() {
  std::printf("proof_cpp: operator new is %s\n",
              LM_PROOF_LMALLOC ? "on lmalloc (liblmalloc.a linked)"
                               : "on wasi-libc's malloc (no lmalloc)");
  const size_t start = used_allocations();

  // operator new / new[] / nothrow / aligned.
  int *one = keep(new int(42));
  int *many = keep(new int[1000]());
  double *nothrow = keep(new (std::nothrow) double[500]);
  cache_line *aligned = keep(new cache_line[4]);
  CHECK(*one == 42 && many[999] == 0, "new initialises");
  CHECK(nothrow != nullptr, "new (nothrow) succeeds");
  CHECK((reinterpret_cast<uintptr_t>(aligned) & 63) == 0,
        "new of an alignas(64) type is 64-aligned");
  expect_lmalloc_block(one, "new int");
  expect_lmalloc_block(many, "new int[]");
  expect_lmalloc_block(nothrow, "new (nothrow) double[]");
  expect_lmalloc_block(aligned, "new cache_line[] (align_val_t)");
  if (LM_PROOF_LMALLOC)
    CHECK(used_allocations() == start + 4, "4 news, 4 allocations: %zu -> %zu",
          start, used_allocations());
  delete one;
  delete[] many;
  delete[] nothrow;
  delete[] aligned;
  if (LM_PROOF_LMALLOC)
    CHECK(used_allocations() == start, "delete gives them back");

  {
    std::vector<long long> v;
    for (int i = 0; i < 5000; i++)
      v.push_back(i);
    CHECK(v[4999] == 4999, "vector contents");
    expect_lmalloc_block(v.data(), "std::vector storage");

    std::string s(1000, 'z'); // far beyond the short-string buffer
    s += "tail";
    CHECK(s.size() == 1004 && s.back() == 'l', "string contents");
    expect_lmalloc_block(s.data(), "std::string storage");

    const size_t before_map = used_allocations();
    std::map<int, std::string> m;
    for (int i = 0; i < 300; i++)
      m[i] = std::to_string(i); // short strings: one node each
    CHECK(m.size() == 300 && m[299] == "299", "map contents");
    if (LM_PROOF_LMALLOC)
      CHECK(used_allocations() == before_map + 300,
            "300 map nodes, 300 lmalloc allocations: %zu -> %zu", before_map,
            used_allocations());
    if (LM_PROOF_LMALLOC)
      CHECK(used_allocations() == start + 302,
            "vector + string + 300 nodes live: %zu allocations (start %zu)",
            used_allocations(), start);
  }
  if (LM_PROOF_LMALLOC) {
    CHECK(used_allocations() == start,
          "containers destroyed: %zu allocations, %zu at start",
          used_allocations(), start);
    CHECK(tl_lm_check() == 0, "lm_check finds no problem");
  }
  return tl_finish();
}
