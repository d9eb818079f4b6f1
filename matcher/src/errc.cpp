#include "hashguard/matcher/errc.hpp"

namespace hashguard::matcher {
namespace {

class matcher_category_impl final : public core::named_category {
 public:
  const char* name() const noexcept override { return "hashguard.matcher"; }
  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
      case errc::unknown_kernel: return "no Hamming kernel has that name";
      case errc::unsupported_kernel: return "this CPU cannot run the named Hamming kernel";
      case errc::unknown_list: return "entry refers to an unknown list id";
      case errc::duplicate_list: return "list id added twice";
      case errc::wrong_signal: return "entry value does not fit the list's signal";
      case errc::bad_threshold: return "threshold out of range for the list's signal";
      case errc::bad_radius: return "search radius is negative";
      case errc::bad_image: return "snapshot image is inconsistent or was made with other options";
    }
    return "unknown matcher error";
  }
  const char* code_name(int code) const noexcept override {
    switch (static_cast<errc>(code)) {
      case errc::unknown_kernel: return "unknown_kernel";
      case errc::unsupported_kernel: return "unsupported_kernel";
      case errc::unknown_list: return "unknown_list";
      case errc::duplicate_list: return "duplicate_list";
      case errc::wrong_signal: return "wrong_signal";
      case errc::bad_threshold: return "bad_threshold";
      case errc::bad_radius: return "bad_radius";
      case errc::bad_image: return "bad_image";
    }
    return "unknown";
  }
};

}  // namespace

const core::named_category& matcher_category() noexcept {
  static const matcher_category_impl instance;
  return instance;
}

}  // namespace hashguard::matcher
