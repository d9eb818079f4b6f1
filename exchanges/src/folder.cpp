#include "hashguard/exchanges/folder.hpp"

#include "hashguard/core/checksum.hpp"
#include "hashguard/core/parse.hpp"
#include "hashguard/hashdb/list_formats.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace hashguard::exchanges {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view checkpoint_prefix = "folder1";
constexpr std::size_t head_bytes = 64 * 1024;

struct manifest {
  std::vector<std::string> files;  // names, sorted
  std::string digest;              // 16 hex digits over names, sizes and mtimes
};

core::result<manifest> read_manifest(const fs::path& dir, std::string& detail) {
  std::error_code ec;
  manifest m;
  std::string text;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    detail = "cannot read the folder: " + ec.message();
    return errc::unavailable;
  }
  std::vector<std::tuple<std::string, std::uintmax_t, std::int64_t>> found;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const auto name = it->path().filename().string();
    if (name.empty() || name.front() == '.' || !it->is_regular_file(ec)) continue;
    const auto size = it->file_size(ec);
    const auto mtime = it->last_write_time(ec).time_since_epoch().count();
    if (ec) break;
    found.emplace_back(name, size, static_cast<std::int64_t>(mtime));
  }
  if (ec) {
    detail = "cannot read the folder: " + ec.message();
    return errc::unavailable;
  }
  std::sort(found.begin(), found.end());
  for (const auto& [name, size, mtime] : found) {
    m.files.push_back(name);
    text += name;
    text.push_back('\0');
    text += std::to_string(size) + '\0' + std::to_string(mtime) + '\n';
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx",
                static_cast<unsigned long long>(core::checksum64(std::as_bytes(std::span(text)))));
  m.digest = buf;
  return m;
}

struct position {
  std::string digest;
  bool done{false};
  std::size_t file{0};
  std::uint64_t entries{0};
};

std::optional<position> parse_checkpoint(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::string prefix;
  position p;
  std::string third;
  if (!(in >> prefix >> p.digest >> third) || prefix != checkpoint_prefix) return std::nullopt;
  if (third == "done") {
    p.done = true;
    return p;
  }
  std::string fourth;
  if (!(in >> fourth)) return std::nullopt;
  const auto file = core::parse_int<std::size_t>(third);
  const auto entries = core::parse_int<std::uint64_t>(fourth);
  if (!file || !entries) return std::nullopt;
  p.file = *file;
  p.entries = *entries;
  return p;
}

std::string format_checkpoint(const std::string& digest, std::size_t file, std::uint64_t entries) {
  return std::string(checkpoint_prefix) + " " + digest + " " + std::to_string(file) + " " +
         std::to_string(entries);
}

// The signal of a file: its hashguard header's, else a name segment's, else the default.
core::signal signal_of(const std::string& name, std::string_view head, core::signal fallback) {
  const auto at = head.find("\n# signal:");
  if (at != std::string_view::npos) {
    auto value = head.substr(at + 10, head.find('\n', at + 1) - at - 10);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\r')) value.remove_suffix(1);
    if (auto s = core::parse_signal(value)) return *s;
  }
  std::size_t start = 0;
  while (start <= name.size()) {
    const auto dot = name.find('.', start);
    const auto segment = std::string_view(name).substr(start, dot - start);
    if (auto s = core::parse_signal(segment)) return *s;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return fallback;
}

}  // namespace

struct folder_source::open_file {
  std::string digest;
  std::size_t index{};
  std::string name;
  std::uint64_t entries{};  // entries read so far
  std::uint64_t line{};     // lines read so far
  core::signal sig{core::signal::pdq};
  std::ifstream in;
  std::optional<hashdb::list_parser> parser;  // nullopt: an empty file
};

core::result<std::unique_ptr<source>> folder_source::make(const exchange_config& config) {
  if (config.url.empty()) return errc::bad_config;
  core::signal sig = core::signal::pdq;
  std::size_t page_entries = 50000;
  for (const auto& [key, value] : config.settings) {
    if (key == "signal") {
      const auto s = core::parse_signal(value);
      if (!s) return errc::bad_config;
      sig = *s;
    } else if (key == "page_entries") {
      const auto n = core::parse_int<std::size_t>(value);
      if (!n || *n == 0 || *n > 1000000) return errc::bad_config;
      page_entries = *n;
    } else {
      return errc::bad_config;
    }
  }
  return std::make_unique<folder_source>(fs::path(config.url), sig, page_entries);
}

folder_source::folder_source(fs::path dir, core::signal default_signal, std::size_t page_entries)
    : dir_(std::move(dir)), default_signal_(default_signal), page_entries_(page_entries) {}

folder_source::~folder_source() = default;

core::result<page> folder_source::fetch(std::string_view checkpoint) {
  detail_.clear();
  if (cancelled_) return errc::cancelled;
  auto m = read_manifest(dir_, detail_);
  if (!m) return m.error();
  page out;
  const auto at = parse_checkpoint(checkpoint);
  position pos;
  pos.digest = m->digest;
  if (at && at->digest == m->digest) {
    if (at->done) {
      out.checkpoint = std::string(checkpoint);
      return out;
    }
    pos = *at;
  } else {
    // The folder changed (or this is the first sync): read it all again, as a re-fetch.
    out.restart = true;
    open_.reset();
  }

  while (out.entries.size() < page_entries_) {
    if (cancelled_) return errc::cancelled;
    if (pos.file >= m->files.size()) {
      pos.done = true;
      break;
    }
    if (!open_ || open_->digest != pos.digest || open_->index != pos.file ||
        open_->entries != pos.entries) {
      open_ = std::make_unique<open_file>();
      open_->digest = pos.digest;
      open_->index = pos.file;
      open_->name = m->files[pos.file];
      open_->in.open(dir_ / open_->name, std::ios::binary);
      if (!open_->in) {
        detail_ = open_->name + ": cannot be opened";
        open_.reset();
        return errc::unavailable;
      }
      std::string head(head_bytes, '\0');
      open_->in.read(head.data(), static_cast<std::streamsize>(head.size()));
      head.resize(static_cast<std::size_t>(open_->in.gcount()));
      open_->in.clear();
      open_->in.seekg(0);
      open_->sig = signal_of(open_->name, head, default_signal_);
      if (const auto format = hashdb::detect_list_format(head)) {
        open_->parser.emplace(*format, open_->sig);
      } else if (head.find_first_not_of(" \t\r\n") != std::string::npos) {
        detail_ = open_->name + ": not a hash list in a known format";
        open_.reset();
        return errc::bad_page;
      }
    }
    open_file& f = *open_;
    std::string line;
    bool eof = !f.parser.has_value();
    while (!eof && out.entries.size() < page_entries_) {
      if (!std::getline(f.in, line)) {
        eof = true;
        break;
      }
      ++f.line;
      auto r = f.parser->parse_line(line);
      if (r.kind == hashdb::line_kind::rejected) {
        detail_ = f.name + ":" + std::to_string(f.line) + ": " + r.reason;
        open_.reset();
        return errc::bad_page;
      }
      if (r.kind != hashdb::line_kind::entry) continue;
      ++f.entries;
      // Entries before the checkpoint were applied by an earlier page (a resumed read).
      if (f.entries <= pos.entries) continue;
      source_entry e;
      e.source_id =
          f.name + ":" + (r.entry.external_id.empty() ? r.entry.value : r.entry.external_id);
      e.signal = std::string(core::to_string(f.sig));
      e.value = std::move(r.entry.value);
      out.entries.push_back(std::move(e));
    }
    if (f.in.bad()) {
      detail_ = f.name + ": read error";
      open_.reset();
      return errc::unavailable;
    }
    if (eof) {
      ++pos.file;
      pos.entries = 0;
      open_.reset();
    } else {
      pos.entries = f.entries;
    }
  }
  if (!pos.done && pos.file >= m->files.size()) pos.done = true;
  out.more = !pos.done;
  out.checkpoint = pos.done ? std::string(checkpoint_prefix) + " " + pos.digest + " done"
                            : format_checkpoint(pos.digest, pos.file, pos.entries);
  return out;
}

}  // namespace hashguard::exchanges
