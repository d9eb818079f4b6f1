// Untrusted text: whether bytes are well-formed UTF-8, and a form of any bytes that is. HTTP
// header values may carry any byte (Beast accepts obs-text), but PostgreSQL, JSON and the
// spool's strict parser take only UTF-8: what goes into a match event must be made valid
// first, or refused, never left for the database to reject.
#pragma once

#include <string>
#include <string_view>

namespace hashguard::core {

/// True when `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
/// above U+10FFFF).
[[nodiscard]] bool valid_utf8(std::string_view text) noexcept;

/// `text` with every byte that is not part of a well-formed UTF-8 sequence written as %XX
/// (upper-case hex, as a URL escapes it) and every '%' kept as it is; valid text comes back
/// unchanged.
[[nodiscard]] std::string escape_invalid_utf8(std::string_view text);

/// True when `text` is valid UTF-8 without control characters (U+0000..U+001F, U+007F).
[[nodiscard]] bool printable_utf8(std::string_view text) noexcept;

/// The longest prefix of `url` (valid UTF-8, e.g. escape_invalid_utf8's output) of at most
/// `max_bytes` bytes that ends neither inside a UTF-8 sequence nor inside a %XX escape: what
/// is kept of a URL cut to a length limit, still valid text whose escapes all decode. `url`
/// itself when it fits. The view points into `url`.
[[nodiscard]] std::string_view url_prefix(std::string_view url, std::size_t max_bytes) noexcept;

}  // namespace hashguard::core
