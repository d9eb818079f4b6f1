// Test-only: counts calls to the global operator new in this test executable (the replacement
// lives in allocation_counter.cpp), to check "no allocation on the hot path" contracts.
#pragma once

#include <cstddef>

namespace hashguard::test {

/// Global operator new calls so far, on any thread.
[[nodiscard]] std::size_t allocation_count() noexcept;

}  // namespace hashguard::test
