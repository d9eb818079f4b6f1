// Integer command-line values for the benchmarks: core::parse_int (parse.hpp), turned into the
// exception the benchmarks' argument loops catch to print their usage (a benchmark without such
// a loop stops with the message).
#pragma once

#include "hashguard/core/parse.hpp"

#include <concepts>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>

namespace hashguard::bench {

/// `text` as a T within [min, max]; throws std::invalid_argument otherwise.
template <std::integral T>
T int_arg(std::string_view text, T min = std::numeric_limits<T>::min(),
          T max = std::numeric_limits<T>::max()) {
  const auto v = core::parse_int<T>(text, min, max);
  if (!v) {
    throw std::invalid_argument("'" + std::string(text) + "' is not an integer from " +
                                std::to_string(min) + " to " + std::to_string(max));
  }
  return *v;
}

}  // namespace hashguard::bench
