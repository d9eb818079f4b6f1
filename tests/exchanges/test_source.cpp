#include "hashguard/exchanges/source.hpp"

#include "hg_catch.hpp"

using namespace hashguard;

TEST_CASE("exchanges errors have stable names and the source contract's defaults") {
  CHECK(core::error_name(exchanges::errc::bad_page) == "bad_page");
  CHECK(core::error_name(exchanges::errc::unavailable) == "exchange_unavailable");
  CHECK(core::error_name(exchanges::errc::cancelled) == "exchange_cancelled");
  CHECK_FALSE(core::error_message(exchanges::errc::unauthorized).empty());

  // A source that takes no feedback refuses it, and has no detail to add to an error.
  struct quiet final : exchanges::source {
    std::string_view kind() const noexcept override { return "quiet"; }
    core::result<exchanges::page> fetch(std::string_view) override { return exchanges::page{}; }
  } s;
  CHECK_FALSE(s.takes_feedback());
  CHECK(s.send_feedback({}).error() == exchanges::errc::unsupported);
  CHECK(s.last_error_detail().empty());
}
