#include "hashguard/exchanges/config.hpp"

#include "hashguard/core/parse.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace hashguard::exchanges {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::optional<bool> parse_bool(std::string_view v) {
  if (v == "true" || v == "yes" || v == "on" || v == "1") return true;
  if (v == "false" || v == "no" || v == "off" || v == "0") return false;
  return std::nullopt;
}

struct failure {
  std::size_t line;
  std::string message;
};

// "LIST [threshold=N] [action=A]" for signal `sig`.
hashdb::exchange_feed parse_feed(core::signal sig, std::string_view value, std::size_t line) {
  hashdb::exchange_feed f;
  f.sig = sig;
  f.threshold = core::default_threshold(sig);
  std::istringstream in{std::string(value)};
  if (!(in >> f.list)) throw failure{line, "a feed names its list"};
  std::string word;
  while (in >> word) {
    const auto eq = word.find('=');
    const std::string key = word.substr(0, eq);
    const std::string v = eq == std::string::npos ? "" : word.substr(eq + 1);
    if (key == "threshold") {
      const auto t = core::parse_int<int>(v);
      if (!t || *t < 0 || *t > core::max_threshold(sig)) {
        throw failure{line, "threshold out of range for " + std::string(core::to_string(sig))};
      }
      f.threshold = *t;
    } else if (key == "action") {
      const auto a = core::parse_action(v);
      if (!a) throw failure{line, "unknown action '" + v + "'"};
      f.act = *a;
    } else {
      throw failure{line, "unknown feed option '" + key + "'"};
    }
  }
  return f;
}

void finish(const exchange_config& c, std::size_t line) {
  if (c.kind.empty()) throw failure{line, "exchange " + c.name + " has no kind"};
  if (c.feeds.empty()) throw failure{line, "exchange " + c.name + " feeds no list"};
}

}  // namespace

secret_reader system_secrets() {
  secret_reader r;
  r.file = [](const std::string& path) -> std::optional<std::string> {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    std::string s = text.str();
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
  };
  r.env = [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
  return r;
}

core::result<std::vector<exchange_config>> parse_exchanges(std::string_view text,
                                                           const secret_reader& secrets,
                                                           config_problem* problem) {
  std::vector<exchange_config> out;
  try {
    std::size_t line_no = 0;
    std::size_t section_line = 0;
    bool credential_set = false;
    std::size_t pos = 0;
    while (pos <= text.size()) {
      const auto nl = text.find('\n', pos);
      std::string_view line = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
      pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
      ++line_no;
      if (const auto hash = line.find('#'); hash != std::string_view::npos) {
        line = line.substr(0, hash);
      }
      line = trim(line);
      if (line.empty()) continue;
      if (line.front() == '[') {
        if (line.back() != ']' || line.substr(1, 9) != "exchange ") {
          throw failure{line_no, "a section is [exchange NAME]"};
        }
        if (!out.empty()) finish(out.back(), section_line);
        exchange_config c;
        c.name = std::string(trim(line.substr(10, line.size() - 11)));
        for (const auto& other : out) {
          if (other.name == c.name) throw failure{line_no, "exchange " + c.name + " twice"};
        }
        out.push_back(std::move(c));
        section_line = line_no;
        credential_set = false;
        continue;
      }
      const auto eq = line.find('=');
      if (eq == std::string_view::npos) throw failure{line_no, "expected key = value"};
      if (out.empty()) throw failure{line_no, "a key before any [exchange NAME] section"};
      exchange_config& c = out.back();
      const std::string key(trim(line.substr(0, eq)));
      const std::string value(trim(line.substr(eq + 1)));
      if (key == "kind") {
        c.kind = value;
      } else if (key == "url") {
        c.url = value;
      } else if (key == "credential") {
        throw failure{line_no,
                      "credentials come from credential_file or credential_env, never inline"};
      } else if (key == "credential_file" || key == "credential_env") {
        if (credential_set) throw failure{line_no, "one credential source per exchange"};
        const auto secret = key == "credential_file" ? secrets.file(value) : secrets.env(value);
        if (!secret || secret->empty()) {
          throw failure{line_no, key == "credential_file"
                                     ? "the credential file cannot be read or is empty"
                                     : "the credential variable is unset or empty"};
        }
        c.credential = *secret;
        credential_set = true;
      } else if (key == "interval_s") {
        const auto s = core::parse_int<std::int64_t>(value);
        if (!s || *s <= 0 || *s > 7 * 24 * 3600) throw failure{line_no, "interval_s out of range"};
        c.interval = std::chrono::seconds(*s);
      } else if (key == "harm_type") {
        const auto h = core::parse_harm_type(value);
        if (!h) throw failure{line_no, "harm_type is csam, ncii or tvec"};
        c.harm = *h;
      } else if (key.rfind("feed.", 0) == 0) {
        const auto sig = core::parse_signal(std::string_view(key).substr(5));
        if (!sig || !core::has_hex_entries(*sig)) {
          throw failure{line_no, "unknown signal in " + key};
        }
        for (const auto& f : c.feeds) {
          if (f.sig == *sig) throw failure{line_no, key + " twice"};
        }
        c.feeds.push_back(parse_feed(*sig, value, line_no));
      } else if (key == "reshare" || key == "feedback" || key == "auto_quarantine") {
        const auto b = parse_bool(value);
        if (!b) throw failure{line_no, key + " is true or false"};
        (key == "reshare" ? c.reshare : key == "feedback" ? c.feedback : c.auto_quarantine) = *b;
      } else if (key.rfind("setting.", 0) == 0 && key.size() > 8) {
        c.settings[key.substr(8)] = value;
      } else {
        throw failure{line_no, "unknown key '" + key + "'"};
      }
    }
    if (!out.empty()) finish(out.back(), section_line);
  } catch (const failure& f) {
    if (problem != nullptr) *problem = {f.line, f.message};
    return errc::bad_config;
  }
  return out;
}

void declare_config(core::config& cfg) {
  cfg.declare("exchanges.file", core::config_type::string, "",
              "the exchanges file: the hash sources this node follows ([exchange NAME] sections;"
              " README \"Exchanges\"); empty: none");
  cfg.declare("exchanges.feedback_interval_s", core::config_type::integer, "60",
              "how often serve sends queued review outcomes to exchanges whose feedback is on"
              " (a failed send waits its own backoff)");
}

core::result<std::vector<exchange_config>> load_exchanges(const core::config& cfg,
                                                          const secret_reader& secrets,
                                                          config_problem* problem) {
  const std::string& path = cfg.get_string("exchanges.file");
  if (path.empty()) return std::vector<exchange_config>{};
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) {
    if (problem != nullptr) *problem = {0, "cannot read " + path};
    return errc::bad_config;
  }
  return parse_exchanges(text.str(), secrets, problem);
}

}  // namespace hashguard::exchanges
