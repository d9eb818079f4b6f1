#include "hashguard/scanner/budget.hpp"
#include "hashguard/scanner/decode.hpp"

#include "gif_builder.hpp"
#include "hg_catch.hpp"
#include "png_builder.hpp"

#include <atomic>
#include <chrono>
#include <thread>

using namespace hashguard::scanner;
using namespace std::chrono_literals;

namespace {

// Burns this thread's CPU until the budget has seen at least `d` of it.
void spin_for(const scan_budget& b, std::chrono::nanoseconds d) {
  volatile std::uint64_t sink = 0;
  while (b.used() < d) {
    for (int i = 0; i < 10000; ++i) sink = sink + static_cast<std::uint64_t>(i);
  }
}

// The CPU time an unlimited decode of `bytes` takes, and then a decode with a tenth of it: the
// budget must stop that one inside the decoder's own loops, long before it would have ended.
void stops_inside_the_decoder(const std::vector<std::uint8_t>& bytes) {
  decoder d;
  decoded_image out;
  scan_budget clock_only(std::chrono::hours(1));
  REQUIRE(d.decode(bytes, out, clock_only));
  const auto whole = clock_only.used();
  INFO("unlimited decode: " << std::chrono::duration_cast<std::chrono::microseconds>(whole).count()
                            << " us");
  REQUIRE(whole > 5ms);  // long enough to stop part way
  scan_budget tenth(whole / 10);
  const auto r = d.decode(bytes, out, tenth);
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::scan_budget_exceeded);
  CHECK(out.frames.empty());
  CHECK(tenth.used() < whole / 2);
}

}  // namespace

TEST_CASE("an unlimited budget never runs out") {
  scan_budget unlimited;
  CHECK_FALSE(unlimited.limited());
  CHECK(unlimited.check() == errc{});
  CHECK(unlimited.tick() == errc{});
}

TEST_CASE("a budget is spent after its limit of this thread's CPU time, and stays spent") {
  scan_budget none(0ns);
  CHECK(none.check() == errc::scan_budget_exceeded);

  scan_budget b(20ms);
  CHECK(b.check() == errc{});
  // Waiting costs no CPU: a thread that sleeps (or waits for a core) keeps its budget.
  std::this_thread::sleep_for(60ms);
  CHECK(b.check() == errc{});
  spin_for(b, 20ms);
  CHECK(b.check() == errc::scan_budget_exceeded);
  CHECK(b.failure() == errc::scan_budget_exceeded);
  CHECK(b.tick() == errc::scan_budget_exceeded);
}

TEST_CASE("a raised stop flag cancels the scan at the next check") {
  std::atomic<bool> stop{false};
  scan_budget b(std::chrono::hours(1), &stop);
  CHECK(b.check() == errc{});
  stop = true;
  CHECK(b.check() == errc::scan_cancelled);
  stop = false;  // sticky: the scan is already over
  CHECK(b.check() == errc::scan_cancelled);
}

TEST_CASE("tick reads the clock only every stride-th call") {
  std::atomic<bool> stop{false};
  scan_budget b(std::chrono::hours(1), &stop);
  CHECK(b.tick(4) == errc{});  // the first call checks
  stop = true;
  CHECK(b.tick(4) == errc{});
  CHECK(b.tick(4) == errc{});
  CHECK(b.tick(4) == errc{});
  CHECK(b.tick(4) == errc::scan_cancelled);  // the 4th after the last check
}

TEST_CASE("a spent budget stops a decode before it starts") {
  scan_budget none(0ns);
  decoder d;
  decoded_image out;
  const auto png = hg_test::png_builder::ramp(16, 16);
  CHECK(d.decode(png, out, none).error() == errc::scan_budget_exceeded);
  std::atomic<bool> stop{true};
  scan_budget stopped(std::chrono::hours(1), &stop);
  CHECK(d.decode(png, out, stopped).error() == errc::scan_cancelled);
  CHECK(d.decode(png, out));  // the same decoder, unlimited
}

TEST_CASE("the budget is checked inside the decoders' own loops") {
  SECTION("PNG rows") {
    stops_inside_the_decoder(hg_test::png_builder::ramp(4096, 4096));
  }
  SECTION("GIF rows, in a frame far larger than its screen") {
    const int side = 3000;
    std::vector<std::uint8_t> indices(static_cast<std::size_t>(side) * side);
    for (std::size_t i = 0; i < indices.size(); ++i) indices[i] = static_cast<std::uint8_t>(i % 3);
    const std::vector<GifColorType> palette{{0, 0, 0}, {255, 255, 255}, {255, 0, 0}, {0, 0, 255}};
    stops_inside_the_decoder(hg_test::gif_builder::build(
        8, 8, 0, palette,
        {hg_test::make_frame(0, 0, side, side, std::move(indices), DISPOSAL_UNSPECIFIED)}));
  }
}
