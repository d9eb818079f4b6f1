#include "hashguard/exchanges/source.hpp"

namespace hashguard::exchanges {
namespace {

struct entry {
  errc code;
  const char* name;
  const char* message;
};

constexpr entry entries[] = {
    {errc::unavailable, "exchange_unavailable",
     "the exchange's source could not be reached or kept failing"},
    {errc::rate_limited, "exchange_rate_limited", "the exchange's source kept answering 429"},
    {errc::unauthorized, "exchange_unauthorized", "the exchange's source refused the credentials"},
    {errc::bad_page, "bad_page", "the source's answer does not parse or holds an invalid entry"},
    {errc::bad_config, "exchange_bad_config", "the exchange's settings are missing or invalid"},
    {errc::unsupported, "exchange_unsupported", "the source does not offer this operation"},
    {errc::cancelled, "exchange_cancelled", "the exchange's sync was cancelled"},
};

const entry* find(int code) {
  for (const entry& e : entries) {
    if (static_cast<int>(e.code) == code) return &e;
  }
  return nullptr;
}

class category_impl final : public core::named_category {
 public:
  const char* name() const noexcept override { return "hashguard.exchanges"; }
  std::string message(int code) const override {
    const entry* e = find(code);
    return e != nullptr ? e->message : "unknown exchanges error";
  }
  const char* code_name(int code) const noexcept override {
    const entry* e = find(code);
    return e != nullptr ? e->name : "unknown";
  }
};

}  // namespace

const core::named_category& exchanges_category() noexcept {
  static const category_impl instance;
  return instance;
}

}  // namespace hashguard::exchanges
