// Catch2 plus what hashguard's tests need to print its types: every test includes this
// instead of <catch2/catch.hpp>.
#pragma once

#include <catch2/catch.hpp>

#include <boost/system/result.hpp>

#include <sstream>
#include <string>
#include <type_traits>

namespace Catch {
// boost::system::result has an operator<< that fails to compile for values without one;
// print the error, or the value where it can be printed.
template <class T, class E>
struct StringMaker<boost::system::result<T, E>> {
  static std::string convert(const boost::system::result<T, E>& r) {
    if (!r.has_value()) return "error: " + r.error().message();
    if constexpr (std::is_void_v<T>) {
      return "ok";
    } else if constexpr (Catch::Detail::IsStreamInsertable<T>::value) {
      return "value: " + Catch::Detail::stringify(*r);
    } else {
      return "value";
    }
  }
};
}  // namespace Catch
