#include "hashguard/hashdb/audit_config.hpp"

#include "crypto.hpp"

#include "hashguard/core/hex.hpp"

#include <boost/json.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

namespace hashguard::hashdb {
namespace {

bool valid_key_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char ch : id) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\n' || s.front() == '\r' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// Writes all of `text` to fd; false on any failure.
bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// A new file beside `target` holding `text` (mode 0600, fsynced); its path, or empty.
std::filesystem::path write_temporary(const std::filesystem::path& target, std::string_view text) {
  std::string pattern = target.string() + ".tmp.XXXXXX";
  const int fd = ::mkstemp(pattern.data());  // mode 0600
  if (fd < 0) return {};
  const bool ok = write_all(fd, text) && ::fsync(fd) == 0;
  if (::close(fd) != 0 || !ok) {
    ::unlink(pattern.c_str());
    return {};
  }
  return pattern;
}

void sync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

core::result<std::string> read_small_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return errc::io_error;
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return errc::io_error;
  std::string s = text.str();
  if (s.size() > 4096) return errc::invalid_argument;
  return s;
}

core::result<audit_key> key_from_file_text(std::string_view id, std::string_view text) {
  return parse_audit_key(id, trim(text));
}

}  // namespace

core::result<audit_key> parse_audit_key(std::string_view id, std::string_view hex) {
  if (!valid_key_id(id) || hex.size() != 64) return errc::invalid_argument;
  audit_key k;
  k.id = std::string(id);
  if (!core::parse_hex_into(hex, k.bytes)) return errc::invalid_argument;
  return k;
}

core::result<std::vector<audit_key>> parse_audit_keys(std::string_view list) {
  std::vector<audit_key> out;
  list = trim(list);
  while (!list.empty()) {
    const auto comma = list.find(',');
    const std::string_view entry = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    const auto colon = entry.find(':');
    if (colon == std::string_view::npos) return errc::invalid_argument;
    auto k = parse_audit_key(trim(entry.substr(0, colon)), trim(entry.substr(colon + 1)));
    if (!k) return k.error();
    out.push_back(std::move(*k));
  }
  return out;
}

void declare_audit_config(core::config& c) {
  using core::config_type;
  // A secret: core::config declares audit.key_file beside it (the key read from a file).
  c.declare("audit.key", config_type::secret, "",
            "the audit chain's HMAC key as 64 hex characters; empty (and no audit.key_file) = "
            "DATA_DIR/audit.key, generated on first start");
  c.declare("audit.key_id", config_type::string, "k1",
            "the audit key's id, stored in every audit row it keys (change it when rotating)");
  c.declare("audit.previous_keys", config_type::secret, "",
            "earlier audit keys that verify still accepts after a rotation, as id:hex,id:hex");
  c.declare("audit.head_file", config_type::string, "",
            "where serve publishes the audit log's head (id, hash, time) for shipping to "
            "write-once storage; empty = DATA_DIR/audit-head.json");
  c.declare("audit.publish_interval_s", config_type::integer, "60",
            "how often serve publishes the audit head to the log and audit.head_file (0 = never)");
}

core::result<audit_settings> read_audit_settings(const core::config& c,
                                                 const std::filesystem::path& data_dir) {
  audit_settings s;
  s.key_hex = c.get_string("audit.key");  // or audit.key_file's contents (resolve_secret_files)
  s.key_id = c.get_string("audit.key_id");
  if (!valid_key_id(s.key_id)) return errc::invalid_argument;
  if (!s.key_hex.empty()) {
    if (auto k = parse_audit_key(s.key_id, s.key_hex); !k) return k.error();
  }
  auto previous = parse_audit_keys(c.get_string("audit.previous_keys"));
  if (!previous) return previous.error();
  s.previous = std::move(*previous);
  s.generated_key = data_dir / "audit.key";
  const std::string head = c.get_string("audit.head_file");
  s.head_file = head.empty() ? data_dir / "audit-head.json" : std::filesystem::path(head);
  const auto interval = c.get_int("audit.publish_interval_s");
  if (interval < 0 || interval > 86'400) return errc::invalid_argument;
  s.publish_interval = std::chrono::seconds(interval);
  return s;
}

namespace {

// The generated key's id: derived from the key, so every process reading the file agrees.
std::string generated_id(const audit_key& k) {
  const auto digest = detail::sha256(
      std::string_view(reinterpret_cast<const char*>(k.bytes.data()), k.bytes.size()));
  return "auto-" + core::to_hex(std::span<const std::uint8_t>(digest.data(), 4));
}

// The generated key: read it, or create it when absent. Creation links a complete temporary
// file into place (link(2) fails when the name exists), so a reader never sees a partial key
// and two processes starting together end up with the same one.
core::result<audit_key> generated_key(const std::filesystem::path& file, bool create,
                                      bool& created) {
  created = false;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (auto text = read_small_file(file)) {
      auto k = key_from_file_text("generated", *text);
      if (!k) return k.error();
      k->id = generated_id(*k);
      return k;
    }
    std::error_code ec;
    if (std::filesystem::exists(file, ec)) return errc::io_error;  // there but unreadable
    if (!create) return errc::not_found;
    std::filesystem::create_directories(file.parent_path().empty() ? "." : file.parent_path(), ec);
    audit_key k;
    if (!detail::random_bytes(k.bytes.data(), k.bytes.size())) return errc::io_error;
    const auto tmp = write_temporary(file, core::to_hex(k.bytes) + "\n");
    if (tmp.empty()) return errc::io_error;
    const int linked = ::link(tmp.c_str(), file.c_str());
    const int link_errno = errno;
    ::unlink(tmp.c_str());
    if (linked == 0) {
      sync_directory(file.parent_path());
      created = true;
      k.id = generated_id(k);
      return k;
    }
    if (link_errno != EEXIST) return errc::io_error;
    // Another process created it first: read theirs.
  }
  return errc::io_error;
}

}  // namespace

core::result<loaded_audit_keys> load_audit_keys(const audit_settings& s) {
  auto ring = std::make_shared<audit_keyring>();
  loaded_audit_keys out;
  if (!s.key_hex.empty()) {
    auto k = parse_audit_key(s.key_id, s.key_hex);
    if (!k) return k.error();
    ring->current = std::move(*k);
  } else {
    auto k = generated_key(s.generated_key, true, out.generated);
    if (!k) return k.error();
    ring->current = std::move(*k);
  }
  ring->previous = s.previous;
  if (!s.key_hex.empty()) {
    // Rows keyed with the generated key before one was configured stay verifiable.
    bool unused = false;
    if (auto k = generated_key(s.generated_key, false, unused)) ring->previous.push_back(*k);
  }
  // One id, one key: a row names its key by id alone.
  std::vector<const audit_key*> all{&ring->current};
  for (const auto& k : ring->previous) all.push_back(&k);
  for (std::size_t i = 0; i < all.size(); ++i) {
    for (std::size_t j = i + 1; j < all.size(); ++j) {
      if (all[i]->id == all[j]->id && all[i]->bytes != all[j]->bytes) {
        return errc::invalid_argument;
      }
    }
  }
  out.keys = std::move(ring);
  return out;
}

std::string audit_head_json(const audit_head& h) {
  return boost::json::serialize(boost::json::object{{"id", h.id}, {"hash", h.hash}, {"at", h.at}}) +
         "\n";
}

core::result<void> write_audit_head(const std::filesystem::path& file, const audit_head& h) {
  std::error_code ec;
  if (!file.parent_path().empty()) std::filesystem::create_directories(file.parent_path(), ec);
  const auto tmp = write_temporary(file, audit_head_json(h));
  if (tmp.empty()) return errc::io_error;
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return errc::io_error;
  }
  sync_directory(file.parent_path());
  return {};
}

core::result<std::optional<audit_head>> read_audit_head(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    if (ec) return errc::io_error;
    return std::optional<audit_head>{};
  }
  auto text = read_small_file(file);
  if (!text) return text.error();
  boost::system::error_code parse_error;
  const auto value = boost::json::parse(*text, parse_error);
  if (parse_error || !value.is_object()) return errc::invalid_argument;
  const auto& o = value.as_object();
  const auto* id = o.if_contains("id");
  const auto* hash = o.if_contains("hash");
  const auto* at = o.if_contains("at");
  if (id == nullptr || !id->is_int64() || id->as_int64() < 1 || hash == nullptr ||
      !hash->is_string() || !core::is_canonical_hex(hash->as_string(), 64) || at == nullptr ||
      !at->is_string()) {
    return errc::invalid_argument;
  }
  return std::optional<audit_head>(
      audit_head{id->as_int64(), std::string(hash->as_string()), std::string(at->as_string())});
}

}  // namespace hashguard::hashdb
