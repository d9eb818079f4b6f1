// Shared by the libFuzzer targets: a failed invariant aborts with a message (libFuzzer then
// keeps the input as crash-*).
#pragma once

#include <cstdio>
#include <cstdlib>

namespace hg_fuzz {

/// A broken invariant: print it and abort, so libFuzzer records the input as a crash.
[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "hg_fuzz invariant failed: %s\n", what);
  std::abort();
}

#define HG_FUZZ_CHECK(cond)              \
  do {                                   \
    if (!(cond)) ::hg_fuzz::fail(#cond); \
  } while (false)

}  // namespace hg_fuzz
