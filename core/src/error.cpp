#include "hashguard/core/errc.hpp"

namespace hashguard::core {

std::string error_name(const error_code& ec) {
  if (!ec) return "ok";
  if (const auto* named = dynamic_cast<const named_category*>(&ec.category())) {
    return named->code_name(ec.value());
  }
  return "error";
}

namespace {

class core_category_impl final : public named_category {
 public:
  const char* name() const noexcept override { return "hashguard.core"; }
  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
      case errc::wrong_length: return "hex text has the wrong number of digits";
      case errc::not_hex: return "hex text contains a character that is not a hex digit";
      case errc::config_unknown_key: return "unknown configuration key";
      case errc::config_bad_value: return "configuration value does not parse as its type";
      case errc::config_file: return "configuration file unreadable or malformed";
      case errc::not_a_number: return "text is not a decimal integer";
      case errc::out_of_range: return "number out of range";
      case errc::bad_time:
        return "text is not a date (YYYY-MM-DD) or UTC time (YYYY-MM-DDTHH:MM:SSZ)";
      case errc::bad_address: return "text is not an IPv4 or IPv6 address";
    }
    return "unknown core error";
  }
  const char* code_name(int code) const noexcept override {
    switch (static_cast<errc>(code)) {
      case errc::wrong_length: return "wrong_length";
      case errc::not_hex: return "not_hex";
      case errc::config_unknown_key: return "config_unknown_key";
      case errc::config_bad_value: return "config_bad_value";
      case errc::config_file: return "config_file";
      case errc::not_a_number: return "not_a_number";
      case errc::out_of_range: return "out_of_range";
      case errc::bad_time: return "bad_time";
      case errc::bad_address: return "bad_address";
    }
    return "unknown";
  }
};

}  // namespace

const named_category& core_category() noexcept {
  static const core_category_impl instance;
  return instance;
}

}  // namespace hashguard::core
