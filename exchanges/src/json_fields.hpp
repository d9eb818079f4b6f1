// Reading fields of untrusted JSON (an exchange's answer, a stored checkpoint) without
// exceptions: each accessor gives nullopt for a missing field or one of another type.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hashguard::exchanges::detail {

/// `text` parsed as a JSON object (depth at most 32); nullopt when it is not one.
[[nodiscard]] std::optional<boost::json::object> json_object_of(std::string_view text);

/// An integer field (a JSON integer, or a decimal string of one); nullopt otherwise.
[[nodiscard]] std::optional<std::int64_t> json_int(const boost::json::object& o,
                                                   std::string_view key);
/// A string field; nullopt when absent or not a string.
[[nodiscard]] std::optional<std::string> json_string(const boost::json::object& o,
                                                     std::string_view key);
/// A boolean field; nullopt when absent or not a boolean.
[[nodiscard]] std::optional<bool> json_bool(const boost::json::object& o, std::string_view key);
/// An id: a JSON string or integer, as text; nullopt otherwise.
[[nodiscard]] std::optional<std::string> json_id(const boost::json::value* v);

}  // namespace hashguard::exchanges::detail
