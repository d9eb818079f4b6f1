#include "hashguard/core/config.hpp"

#include "hashguard/core/parse.hpp"

#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace hashguard::core {
namespace {

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

bool parse_bool(std::string_view v, bool& out) {
  if (v == "true" || v == "1" || v == "yes" || v == "on") {
    out = true;
    return true;
  }
  if (v == "false" || v == "0" || v == "no" || v == "off") {
    out = false;
    return true;
  }
  return false;
}

bool valid_for(config_type type, std::string_view value) {
  switch (type) {
    case config_type::integer: return parse_int<std::int64_t>(value).has_value();
    case config_type::boolean: {
      bool ignored = false;
      return parse_bool(value, ignored);
    }
    case config_type::string:
    case config_type::secret: return true;
  }
  return false;
}

constexpr std::string_view source_name(config_source s) {
  switch (s) {
    case config_source::defaults: return "default";
    case config_source::file: return "file";
    case config_source::environment: return "env";
    case config_source::flag: return "flag";
  }
  return "?";
}

}  // namespace

std::string normalize_config_key(std::string_view key) {
  std::string out(key);
  for (char& c : out) {
    if (c == '.' || c == '-') c = '_';
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string secret_file_key(std::string_view key) {
  return std::string(key) + "_file";
}

void config::declare(std::string_view key, config_type type, std::string_view default_value,
                     std::string_view help) {
  entries_[normalize_config_key(key)] =
      config_entry{std::string(key), type, std::string(default_value), std::string(help),
                   config_source::defaults};
  if (type != config_type::secret) return;
  const std::string file_key = secret_file_key(key);
  entries_[normalize_config_key(file_key)] = config_entry{
      file_key, config_type::string, "",
      "a file holding " + std::string(key) + " (trailing newlines dropped); set one, not both",
      config_source::defaults};
}

result<void> config::resolve_secret_files(std::string* problem) {
  const auto fail = [problem](errc ec, std::string why) -> result<void> {
    if (problem != nullptr) *problem = std::move(why);
    return ec;
  };
  for (auto& [name, secret] : entries_) {
    if (secret.type != config_type::secret) continue;
    const config_entry* file = find(secret_file_key(secret.key));
    if (file == nullptr || file->value.empty()) continue;
    if (!secret.value.empty()) {
      return fail(errc::config_bad_value,
                  secret.key + " and " + file->key + " are both set: set one, not both");
    }
    std::ifstream in(file->value, std::ios::binary);
    if (!in) return fail(errc::config_file, file->key + ": cannot read " + file->value);
    std::ostringstream text;
    text << in.rdbuf();
    std::string value = text.str();
    // Editors and `echo` end files with a newline that is no part of the secret.
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
    if (value.empty())
      return fail(errc::config_bad_value, file->key + ": " + file->value + " is empty");
    secret.value = std::move(value);
    secret.source = file->source;
  }
  return {};
}

config_entry* config::find(std::string_view key) {
  auto it = entries_.find(normalize_config_key(key));
  return it == entries_.end() ? nullptr : &it->second;
}

const config_entry& config::at(std::string_view key) const {
  auto it = entries_.find(normalize_config_key(key));
  if (it == entries_.end()) throw std::out_of_range("undeclared config key: " + std::string(key));
  return it->second;
}

bool config::has(std::string_view key) const {
  return entries_.contains(normalize_config_key(key));
}

result<void> config::set(std::string_view key, std::string_view value, config_source source) {
  config_entry* e = find(key);
  if (e == nullptr) return errc::config_unknown_key;
  if (!valid_for(e->type, value)) return errc::config_bad_value;
  e->value = std::string(value);
  e->source = source;
  return {};
}

result<void> config::load_text(std::string_view text, std::string_view /*origin*/) {
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = trim(text.substr(pos, eol - pos));
    pos = eol + 1;
    if (line.empty() || line.front() == '#') continue;
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) return errc::config_file;
    const auto key = trim(line.substr(0, eq));
    auto value = trim(line.substr(eq + 1));
    if (key.empty()) return errc::config_file;
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (auto r = set(key, value, config_source::file); !r) return r;
  }
  return {};
}

result<void> config::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return errc::config_file;
  std::ostringstream text;
  text << in.rdbuf();
  return load_text(text.str(), path);
}

result<void> config::load_environment(char** environ_array) {
  if (environ_array == nullptr) return {};
  for (char** p = environ_array; *p != nullptr; ++p) {
    std::string_view var(*p);
    if (!var.starts_with("HG_")) continue;
    const auto eq = var.find('=');
    if (eq == std::string_view::npos) continue;
    const auto name = var.substr(3, eq - 3);
    if (find(name) == nullptr) continue;  // HG_FORCE_KERNEL and friends are not config keys
    if (auto r = set(name, var.substr(eq + 1), config_source::environment); !r) return r;
  }
  return {};
}

result<std::vector<std::string>> config::apply_flags(const std::vector<std::string>& args) {
  std::vector<std::string> rest;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      rest.insert(rest.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
      break;
    }
    if (!arg.starts_with("--") || arg.size() == 2) {
      rest.push_back(arg);
      continue;
    }
    std::string_view body = std::string_view(arg).substr(2);
    const auto eq = body.find('=');
    const auto name = body.substr(0, eq);
    config_entry* e = find(name);
    if (e == nullptr) return errc::config_unknown_key;
    std::string value;
    if (eq != std::string_view::npos) {
      value = std::string(body.substr(eq + 1));
    } else if (e->type == config_type::boolean &&
               (i + 1 >= args.size() || !valid_for(config_type::boolean, args[i + 1]))) {
      value = "true";
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return errc::config_bad_value;
    }
    if (auto r = set(name, value, config_source::flag); !r) return r.error();
  }
  return rest;
}

const std::string& config::get_string(std::string_view key) const {
  return at(key).value;
}

std::int64_t config::get_int(std::string_view key) const {
  const auto v = parse_int<std::int64_t>(at(key).value);
  return v ? *v : 0;
}

bool config::get_bool(std::string_view key) const {
  bool v = false;
  parse_bool(at(key).value, v);
  return v;
}

std::vector<config_entry> config::entries() const {
  std::vector<config_entry> out;
  out.reserve(entries_.size());
  for (const auto& [k, e] : entries_) out.push_back(e);
  return out;
}

std::string config::describe() const {
  std::ostringstream out;
  for (const auto& [k, e] : entries_) {
    out << e.key << " = ";
    if (e.type == config_type::secret) {
      out << (e.value.empty() ? "" : "<redacted>");
    } else {
      out << e.value;
    }
    out << "  (" << source_name(e.source) << ")\n";
  }
  return out.str();
}

}  // namespace hashguard::core
