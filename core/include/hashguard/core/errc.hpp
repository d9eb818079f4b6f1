// core's own error codes (hex, number and time parsing, config).
#pragma once

#include "hashguard/core/error.hpp"

namespace hashguard::core {

enum class errc {
  wrong_length = 1,    ///< hex text of the wrong number of digits
  not_hex,             ///< a character outside 0-9 a-f A-F (whitespace included)
  config_unknown_key,  ///< a config key, env variable or flag nobody declared
  config_bad_value,    ///< a value that does not parse as the key's type
  config_file,         ///< the config file cannot be read or has a malformed line
  not_a_number,        ///< text that is not a decimal integer (parse.hpp)
  out_of_range,        ///< a number outside its type or the range the caller allows (parse.hpp)
  bad_time,            ///< text that is not a date or UTC time of the accepted forms (parse.hpp)
  bad_address,         ///< text that is not an IPv4 or IPv6 address (parse.hpp)
};

const named_category& core_category() noexcept;
HG_DECLARE_ERRC(errc, core_category)

}  // namespace hashguard::core

HG_REGISTER_ERRC(hashguard::core::errc)
