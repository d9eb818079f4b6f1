#include "cmd_hash_video.hpp"

#include "commands.hpp"
#include "hashguard/core/error.hpp"
#include "hashguard/scanner/video_worker.hpp"
#include "hashguard/scanner/vpdq.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <vector>

namespace hashguard::app {

std::optional<std::vector<core::vpdq_frame>> hash_video_frames(const std::string& path,
                                                               const vpdq_cli_options& options,
                                                               std::string& error) {
  const scanner::video_limits limits;
  const auto fail = [&](std::string_view code, std::string_view message) {
    error = std::string(code) + ": " + std::string(message);
    return std::nullopt;
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
  // Hostile bytes are decoded only in the sandboxed worker, here as in serve: this binary does
  // not link FFmpeg. The worker sits beside this executable (build/app/, or the install dir).
  std::error_code self_ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", self_ec);
  if (self_ec) return fail("worker_missing", "cannot find this executable's directory");
  scanner::video_worker_options worker_options;
  worker_options.executable = (self.parent_path() / "hashguard-video-worker").string();
  if (!std::filesystem::exists(worker_options.executable, self_ec)) {
    return fail("worker_missing", worker_options.executable + " not found");
  }
  const scanner::video_worker worker(worker_options);
  auto r = worker.hash(bytes, {options.seconds_per_hash, options.downsample}, limits);
  if (!r) return fail(core::error_name(r.error()), core::error_message(r.error()));
  return std::move(r->frames);
}

int hash_video_file(const std::string& path, const vpdq_cli_options& options) {
  std::string error;
  const auto frames = hash_video_frames(path, options, error);
  if (!frames) {
    std::cerr << "hashguard hash: " << path << ": " << error << "\n";
    return exit_failure;
  }
  std::cout << scanner::format_vpdq(*frames) << std::flush;
  return exit_ok;
}

}  // namespace hashguard::app
