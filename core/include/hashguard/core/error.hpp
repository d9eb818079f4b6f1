// Errors as values at module edges.
//
// Each module declares `enum class errc` and a category derived from named_category, which
// gives every code a stable snake_case name (the `code` of the API's error shape) besides its
// human message. result<T> is boost::system::result<T, boost::system::error_code>.
//
// Usage in a module header:
//   enum class errc { truncated = 1, ... };
//   const core::named_category& error_category() noexcept;
//   inline boost::system::error_code make_error_code(errc e) noexcept { ... }
// plus the is_error_code_enum specialisation (HG_DECLARE_ERRC does both).
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <string_view>

namespace hashguard::core {

using error_code = boost::system::error_code;

template <class T>
using result = boost::system::result<T, error_code>;

/// An error category whose codes also have a stable machine-readable name.
class named_category : public boost::system::error_category {
 public:
  /// Stable snake_case identifier of `code`, e.g. "wrong_length". Never changes once shipped.
  [[nodiscard]] virtual const char* code_name(int code) const noexcept = 0;
};

/// The stable name of any error: named_category's code_name, or "error" for foreign
/// categories (system errors and the like).
[[nodiscard]] std::string error_name(const error_code& ec);

/// Human message of an error.
[[nodiscard]] inline std::string error_message(const error_code& ec) {
  return ec.message();
}

}  // namespace hashguard::core

/// Declares make_error_code for a module's errc and registers it with Boost.System.
/// Put the first part inside the module namespace and HG_REGISTER_ERRC at global scope.
#define HG_DECLARE_ERRC(errc_type, category_fn)                              \
  inline ::boost::system::error_code make_error_code(errc_type e) noexcept { \
    return ::boost::system::error_code(static_cast<int>(e), category_fn());  \
  }

#define HG_REGISTER_ERRC(qualified_errc) \
  template <>                            \
  struct boost::system::is_error_code_enum<qualified_errc> : std::true_type {};
