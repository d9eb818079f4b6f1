#include "db_common.hpp"

#include "hashguard/exchanges/config.hpp"
#include "hashguard/hashdb/audit.hpp"
#include "hashguard/hashdb/audit_config.hpp"
#include "hashguard/hashdb/migrations.hpp"

#include <pwd.h>
#include <unistd.h>

#include <iostream>

extern char** environ;

namespace hashguard::app {

cli_options parse_options(const std::vector<std::string>& args, std::set<std::string> value_names,
                          std::set<std::string> flag_names) {
  cli_options out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.size() < 3 || a.rfind("--", 0) != 0) {
      out.positional.push_back(a);
      continue;
    }
    std::string name = a.substr(2);
    std::optional<std::string> inline_value;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name.resize(eq);
    }
    if (flag_names.contains(name) && !inline_value) {
      out.flags.insert(name);
    } else if (value_names.contains(name)) {
      if (inline_value) {
        out.values[name] = *inline_value;
      } else if (i + 1 < args.size()) {
        out.values[name] = args[++i];
      } else {
        out.error = "--" + name + " needs a value";
      }
    } else {
      out.error = "unknown option --" + name;
    }
  }
  return out;
}

std::optional<std::vector<std::string>> load_config(core::config& config,
                                                    const std::vector<std::string>& args) {
  hashdb::declare_config(config);
  exchanges::declare_config(config);
  std::vector<std::string> rest;
  std::optional<std::string> file;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config" && i + 1 < args.size()) {
      file = args[++i];
    } else if (args[i].rfind("--config=", 0) == 0) {
      file = args[i].substr(9);
    } else {
      rest.push_back(args[i]);
    }
  }
  if (file) {
    if (auto r = config.load_file(*file); !r) {
      print_error("config", *file, r.error());
      return std::nullopt;
    }
  }
  if (auto r = config.load_environment(environ); !r) {
    print_error("config", "environment", r.error());
    return std::nullopt;
  }
  // Flags that name configuration keys are taken here; the rest are the command's own.
  std::vector<std::string> own;
  std::vector<std::string> config_flags;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    const std::string& a = rest[i];
    if (a.rfind("--", 0) == 0 && a.size() > 2) {
      std::string name =
          a.substr(2, a.find('=') == std::string::npos ? std::string::npos : a.find('=') - 2);
      if (config.has(name)) {
        config_flags.push_back(a);
        if (a.find('=') == std::string::npos && i + 1 < rest.size())
          config_flags.push_back(rest[++i]);
        continue;
      }
    }
    own.push_back(a);
  }
  auto applied = config.apply_flags(config_flags);
  if (!applied) {
    print_error("config", "flags", applied.error());
    return std::nullopt;
  }
  std::string problem;
  if (auto r = config.resolve_secret_files(&problem); !r) {
    print_error("config", problem, r.error());
    return std::nullopt;
  }
  return own;
}

std::unique_ptr<db_session> db_session::open(const core::config& config, bool migrate,
                                             bool own_embedded) {
  auto settings = hashdb::read_settings(config);
  if (!settings) {
    print_error("db", "configuration", settings.error());
    return nullptr;
  }
  auto keys = hashdb::load_audit_keys(settings->audit);
  if (!keys) {
    print_error("audit", "keys (audit.key, audit.key_file, audit.previous_keys)", keys.error());
    return nullptr;
  }
  if (keys->generated) {
    std::cerr << "hashguard: audit: no audit.key configured: generated one in "
              << settings->audit.generated_key.string() << " (id " << keys->keys->current.id
              << "); back it up, and configure one shared audit.key on every node of a cluster\n";
  }
  auto s = std::make_unique<db_session>();
  s->settings_ = *settings;
  s->settings_.server.adopt = own_embedded;
  s->audit_keys_ = std::move(keys->keys);
  if (s->settings_.database_url.empty()) {
    std::string why;
    auto server = hashdb::embedded_server::start(s->settings_.server, &why);
    if (!server) {
      print_error("db", "embedded PostgreSQL in " + s->settings_.data_dir.string(), server.error(),
                  why);
      return nullptr;
    }
    s->url_ = server->url();
    s->server_.emplace(std::move(*server));
  } else {
    s->url_ = s->settings_.database_url;
  }
  std::string why;
  auto c = hashdb::connection::open(s->url_, &why);
  if (!c) {
    print_error("db", hashdb::redact_url(s->url_), c.error(), why);
    return nullptr;
  }
  s->conn_.emplace(std::move(*c));
  s->conn_->use_audit_keys(s->audit_keys_);
  if (migrate) {
    auto m = hashdb::migrate(*s->conn_);
    if (!m) {
      print_error("db", "migrate", m.error(), s->conn_->last_error());
      return nullptr;
    }
  }
  return s;
}

db_session::~db_session() {
  conn_.reset();  // before the server may stop
  if (!server_) return;
  bool left_running = false;
  if (auto r = server_->stop(&left_running); !r) {
    print_error("db", "stopping the embedded PostgreSQL", r.error());
  } else if (left_running) {
    std::cerr << "hashguard: the embedded PostgreSQL in " << settings_.data_dir.string()
              << " keeps running: other processes are attached to it (the last to end stops it)\n";
  }
}

std::string db_session::actor() const {
  const passwd* pw = ::getpwuid(::getuid());
  return std::string("cli:") + (pw != nullptr ? pw->pw_name : std::to_string(::getuid()));
}

void db_session::audit(std::string_view action, std::string_view subject, std::string_view detail) {
  hashdb::audit_log log(*conn_);
  if (auto r = log.append(actor(), action, subject, detail); !r) {
    print_error("audit", "append", r.error(), conn_->last_error());
  }
}

void print_error(std::string_view command, std::string_view what, const core::error_code& ec,
                 std::string_view detail) {
  std::cerr << "hashguard " << command << ": " << what << ": " << core::error_name(ec) << " ("
            << ec.message() << ")";
  if (!detail.empty()) std::cerr << "\n  " << detail;
  std::cerr << "\n";
}

std::string json_quote(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (c < 0x20) {
      static constexpr char digits[] = "0123456789abcdef";
      out += "\\u00";
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 15]);
    } else {
      out.push_back(ch);
    }
  }
  return out + "\"";
}

}  // namespace hashguard::app
