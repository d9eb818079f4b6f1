// The `folder` source: a local directory of hash list files in the existing formats (hex,
// te-local, csv, hashguard: hashdb/list_formats.hpp), polled at the exchange's interval.
//
// The folder's state is its manifest: the regular files directly in it (names not starting
// with '.'), in name order, with their sizes and modification times. Any change of the manifest
// (a file added, edited, renamed or removed) starts a full re-read as a `restart` re-fetch, so
// entries of a removed or edited file that no file holds any more are deleted at its end.
// Checkpoint: "folder1 <manifest digest> <file index> <entries read in it>" while a re-read is
// under way, "folder1 <manifest digest> done" after it; an unchanged folder answers an empty
// page.
//
// Each file's signal: the hashguard header's `signal`, else a name segment that is a signal
// name ("ncmec.md5.txt"), else the `signal` setting (default pdq). An entry's source id is
// "<file>:<its id in the file>" or "<file>:<value>" when it has none. A line that is not a
// valid entry makes the page bad (errc::bad_page; last_error_detail() names the file and line):
// the sync stops there until the file is fixed.
//
// Settings: `signal` (default pdq), `page_entries` (entries per page, default 50000).
// Not thread-safe except cancel() (one sync runs a source at a time).
#pragma once

#include "hashguard/exchanges/registry.hpp"
#include "hashguard/exchanges/source.hpp"

#include <atomic>
#include <filesystem>
#include <memory>

namespace hashguard::exchanges {

class folder_source final : public source {
 public:
  /// errc::bad_config when the settings are invalid (the directory is checked at fetch()).
  static core::result<std::unique_ptr<source>> make(const exchange_config& config);

  folder_source(std::filesystem::path dir, core::signal default_signal, std::size_t page_entries);
  ~folder_source() override;

  [[nodiscard]] std::string_view kind() const noexcept override { return "folder"; }
  [[nodiscard]] core::result<page> fetch(std::string_view checkpoint) override;
  void cancel() noexcept override { cancelled_ = true; }
  [[nodiscard]] std::string last_error_detail() const override { return detail_; }

 private:
  struct open_file;
  std::filesystem::path dir_;
  core::signal default_signal_;
  std::size_t page_entries_;
  std::atomic<bool> cancelled_{false};
  std::string detail_;
  std::unique_ptr<open_file> open_;  // the file the previous page stopped in, kept open
};

}  // namespace hashguard::exchanges
