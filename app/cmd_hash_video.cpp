#include "cmd_hash_video.hpp"

#include "commands.hpp"
#include "hashguard/core/error.hpp"
#include "hashguard/scanner/vpdq.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <vector>

namespace hashguard::app {

int hash_video_file(const std::string& path, const vpdq_cli_options& options) {
  const scanner::video_limits limits;
  const auto fail = [&](std::string_view code, std::string_view message) {
    std::cerr << "hashguard hash: " << path << ": " << code << ": " << message << "\n";
    return exit_failure;
  };
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return fail("read_failed", ec.message());
  if (size > limits.max_bytes) {
    const core::error_code too_large = scanner::errc::too_large;
    return fail(core::error_name(too_large), core::error_message(too_large));
  }
  std::ifstream in(path, std::ios::binary);
  const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in),
                                        std::istreambuf_iterator<char>()};
  if (!in && !in.eof()) return fail("read_failed", "cannot read the file");
  scanner::scan_budget budget;  // a local command: no CPU limit beyond the video limits
  const auto r =
      scanner::hash_video(bytes, {options.seconds_per_hash, options.downsample}, limits, budget);
  if (!r) return fail(core::error_name(r.error()), core::error_message(r.error()));
  std::cout << scanner::format_vpdq(r->frames) << std::flush;
  return exit_ok;
}

}  // namespace hashguard::app
