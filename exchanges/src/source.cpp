#include "hashguard/exchanges/source.hpp"

namespace hashguard::exchanges {
namespace {

struct entry {
  errc code;
  const char* name;
  const char* message;
};

// One category for the whole module (the folder source, the sync driver and the protocol
// clients); the names are the ones the exchange state and the CLI show.
constexpr entry entries[] = {
    {errc::unavailable, "exchange_unavailable",
     "the exchange could not be reached or kept failing after the retries"},
    {errc::rate_limited, "exchange_rate_limited",
     "the exchange still answered 429 after the retries"},
    {errc::unauthorized, "exchange_unauthorized", "the exchange refused the credentials"},
    {errc::bad_page, "bad_page",
     "the exchange's answer does not parse or holds an invalid entry (nothing applied)"},
    {errc::bad_config, "exchange_bad_config", "the exchange's settings are missing or invalid"},
    {errc::unsupported, "exchange_unsupported", "the exchange does not offer this operation"},
    {errc::cancelled, "exchange_cancelled", "the exchange call was cancelled"},
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
